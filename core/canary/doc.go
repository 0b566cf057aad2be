// Package canary judges a canary against its baseline, as fast as the
// evidence allows, with a guaranteed bound on false rollbacks.
//
// Inputs are cumulative per-cohort counts (requests, errors, and requests
// slower than a latency threshold fixed in advance: the service's SLO p99,
// or the baseline's p99 measured before the canary started), observed as
// often as the monitoring source can give them.
//
// Regressions (error rate, slow-request rate) are tested with anytime-valid
// sequential tests: each test statistic is an e-process, a non-negative
// supermartingale with initial value 1 under "the canary is no worse", so by
// Ville's inequality P(it ever reaches 1/a) <= a, and it may be checked
// after every observation. Conditional on the number of events (errors, or
// slow requests) in an observation interval and on the requests each cohort
// served in it, each event is a Bernoulli "is it the canary's?" with
// probability q0 = rho*r0/(rho*r0 + 1 - rho), where rho is the canary's
// observed share of the interval's requests and r0 = 1 + tolerance the
// largest canary/baseline rate ratio still called "no worse". Using the
// observed split (not the nominal weight) keeps a sample-ratio mismatch from
// looking like a regression; the mismatch has a test of its own (SRMTest, a
// Beta-binomial mixture, Lindon & Malek 2022) whose rejection pauses.
//
// The regression e-process is a mixture, over a fixed discrete prior on
// the rate ratio r > r0, of the likelihood ratios
//
//	L_r(t) = prod_s (q_s(r)/q_s(r0))^{x_s} ((1-q_s(r))/(1-q_s(r0)))^{n_s-x_s}
//
// with q_s(r) = rho_s*r/(rho_s*r + 1 - rho_s). Each L_r is a martingale under
// r = r0 and a supermartingale under any r < r0 (its one-step mean is
// increasing in the true q and equals 1 at q0), so the mixture is an
// e-process for the whole composite null r <= r0. This is the Beta-mixture
// test of Lindon, Sanden & Shirikian (KDD 2022) with the Beta prior replaced
// by a discrete one, which keeps it exact when the traffic split varies
// from one observation to the next (the closed form needs a constant split).
//
// alpha bounds false rollbacks: it is split by Bonferroni between the two
// regression tests (errors, slow requests), each rejecting at e >= 2/alpha.
// The sample-ratio test only pauses, so it has its own budget (PauseAlpha,
// default alpha). One analysis spans all of a canary step's traffic
// weights, so the bound holds per canary, not per weight.
package canary
