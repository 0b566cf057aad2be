// Package canary judges a canary against its baseline on evidence, not on
// the clock: it rolls back as soon as the data show harm, with a bound on
// false rollbacks, and it promotes only when the data rule out a
// regression larger than the service tolerates.
//
// # Inputs
//
// Cumulative per-cohort counters (requests, errors, and either a latency
// histogram, Counts.Buckets against Observation.BoundsMs, or the count of
// requests slower than a cutoff fixed in advance, Counts.Slow), observed
// as often as the monitoring source can give them. The first observation
// of a step is the reference the counters are measured from; its baseline
// counters (everything the baseline served before the step) are the
// pre-deployment baseline, which the judge carries from step to step of a
// run (Reference).
//
// # Rollback: anytime-valid tests
//
// Each rollback test is an e-process: a non-negative supermartingale with
// initial value 1 under "the canary is no worse", so by Ville's inequality
// P(it ever reaches 1/a) <= a, and it may be checked after every
// observation. The tests:
//
//   - error_rate: TwoSampleTest, both cohorts' counts against the pooled
//     rate (the null's closest point), betting on canary rates above the
//     baseline's rate as learnt from the pre-deployment baseline: a
//     quarter of the evidence on the baseline's rate + ErrorTolerance (the
//     regression that must be caught, and the slowest to), the rest on a
//     grid of ratios up to 100 (prior weight ln r: large ratios are what
//     thin traffic can detect) and a plug-in of the canary's recent rate.
//     A fixed bet loses evidence while the canary is healthy, so each
//     fixed bet (the tolerance's, each ratio's) is itself an average over
//     the regression's onset: 1 - OnsetWeight on the step's start, and
//     OnsetWeight spread over later onsets with density OnsetScale/(t +
//     OnsetScale)^2 (t seconds into the step; half of it in the first 15
//     minutes), each onset's product starting at 1 at the first
//     observation after it. Validity: each (onset, bet) product is a
//     supermartingale under the null that equals 1 until its onset; the
//     onsets' weights depend on the clock only and, with the start's,
//     sum to 1 for every bet, fixed in advance; so the average is a
//     supermartingale with initial value 1 and Ville's inequality holds
//     for the whole (the onsets not started count at their weight). All
//     started onsets of a bet share its interval factor, so their sum
//     updates in O(1) (a weighted Shiryaev-Roberts recursion) and the
//     average costs no more than the bet itself. The plug-in bets
//     nothing while the canary looks healthy, so it needs no restarts.
//     With Config.Tolerance > 0,
//     RegressionTest instead (the
//     conditional "whose error is it?" test of the null canary rate <=
//     (1+Tolerance) baseline rate). RegressionTest conditions on each
//     interval's observed split, so a sample-ratio mismatch does not look
//     like a regression; the mismatch has a test of its own (SRMTest, a
//     Beta-binomial mixture, Lindon & Malek 2022) whose rejection pauses.
//   - latency_shift: with histograms, ShiftTest, a rank-type test of a
//     shift of the canary's latency distribution against the baseline's
//     (an exponential tilt over cells of the reference's quantiles; half
//     its prior on the shift of LatencyTolerance, ln(1 + tolerance) over
//     the log spread the reference's p50 and p95 show), mixed (weight
//     ShiftWeight) with RegressionTest on the share of requests slower
//     than the baseline's p95. The reference's p50 and p95 are read once
//     it has LatencyReferenceMin requests. With histograms no cutoff fixed
//     in advance is used (Counts.Slow is ignored); without them
//     ("slow_rate"), RegressionTest on the slow counts of the fixed
//     cutoff, which is then the only latency input.
//   - error_slo (when the SLO sets availability): OneSidedTest of the
//     canary's error rate against the SLO's 1 - availability, or against
//     the baseline's upper confidence bound when the baseline itself misses
//     the objective (a canary no worse than its baseline is not rolled back
//     for the baseline's failings).
//   - latency_slo (when the SLO sets latency_p99 and there are histograms):
//     OneSidedTest of the canary's share of requests slower than the SLO's
//     p99 against 1 %, or the baseline's upper bound if higher.
//
// alpha bounds the probability of a false rollback (of a canary no worse
// than its baseline) over all of a canary's weights: Config.Alpha is
// divided by Config.Train (the services of a release train, so that 30
// services do not multiply false rollbacks) and then split equally
// (Bonferroni) between the rollback tests configured (RollbackTests). The
// relative tests reject at e >= 1/alpha_i; a one-sample test whose
// reference is a confidence bound gives half its alpha_i to the bound and
// rejects at e >= 2/alpha_i.
//
// The 100 % step has no baseline left: error_rate and latency_shift
// become one-sample tests against the pre-deployment baseline's upper
// confidence bounds (its error rate; its share above its own p50 and
// p95), and evidence keeps accumulating until promotion.
//
// # Promotion: proofs
//
// Each service tolerates a regression (Config.ErrorTolerance, absolute,
// default +0.5 percentage points of errors; Config.LatencyTolerance,
// relative, default +20 % on the p95; FromSLO derives them and the
// objectives from the service's SLO). A canary is promoted only when both
// proofs hold, each a downward OneSidedTest (its null: the regression is
// at least the tolerance) that reached 1/level:
//
//   - error_rate: the canary's error rate below the baseline's lower
//     confidence bound + ErrorTolerance (beta/2 to the bound, beta/2 to
//     the test);
//   - latency_p95: at most 5 % of the canary's requests slower than (1 +
//     LatencyTolerance) x the baseline's p95, i.e. the canary's p95 within
//     the tolerance (the unbounded bucket counts as slower; the baseline's
//     p95 is the reference's, read from at least LatencyReferenceMin
//     requests, usually the pre-deployment baseline's thousands); without
//     histograms, slow_rate: the slow rate below the baseline's lower
//     bound + ErrorTolerance.
//
// So a canary whose regression is at least the tolerance is promoted with
// probability at most Config.Beta (default 5 %), however long it bakes.
// Verdict never promotes; Result.Finish, at the end of the bake, turns a
// proved canary into promote (its reason states each bound proved, its
// confidence and the requests it took) and leaves any other at continue
// with Evidence.Insufficient set and a reason starting "insufficient
// evidence: N canary requests, about M more needed (T at the current
// traffic)". The engine extends the bake, bounded by policy, then waits
// for an operator. BakeNeeded gives a plan the bake a healthy canary
// needs for the proofs at the traffic expected.
//
// # Overdispersion
//
// Error counts whose rate drifts vary more than binomial ones. The
// dispersion phi is estimated on the baseline (Pearson's chi-square of
// one-minute blocks, dispersion) and carried to the canary by its share
// of traffic; the one-sample tests (SLO, proofs, the 100 % step) divide
// each interval's log-likelihood ratio by phi (quasi-likelihood
// tempering). The relative tests compare cohorts that share the drift,
// which cancels.
//
// # Reasons
//
// Every verdict's reason names the test, the observed values, the
// e-value and its threshold. A promotion's states each bound it proved,
// its confidence and the canary requests it took ("error rate <= base +
// 0.5 pp with 95 % confidence after 2,310 canary requests (...)"); an
// inconclusive bake's starts with ReasonInsufficient and says how many
// more requests a proof needs. Evidence carries the same as fields
// (Metrics for the rollback tests, Proofs for the promotion proofs, with
// proved_after_requests, Insufficient for a bake that ended with neither
// verdict); testdata/reasons.golden holds every kind.
package canary
