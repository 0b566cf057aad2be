// Package deploy is warroom's durable deployment engine: a run made from a
// release plan, whose steps (wave x service x environment x region, and
// the phases of data migrations) move through explicit states, each
// transition persisted before the effect it announces is started.
//
// A run's plan is written once; what changes is its header (state,
// reason, approvals; versioned) and each step's status (its own record
// with its own revision), so a transition costs the same at step 7,000
// as at step 1 and changes of different steps never conflict. The steps
// of one wave run side by side, up to the environment's parallel limit;
// waves and environments stay in order. A failing step stops new starts
// in its wave; the steps in flight finish before the run rolls back (in
// reverse order) or fails.
//
// The engine drives a run through ports it declares: a Journal that
// persists runs atomically with their audit records (the store), Targets
// that deploy (provider plugins), a Judge that rules on canaries, an
// Alerts source, and a Clock. Calls to a target carry an idempotency key
// (run/step/attempt); after a crash the engine asks the target what it
// actually applied (Status) before acting, so no step is repeated blindly
// and none is lost; on taking a run over it reconciles the steps in flight
// and the current wave with what the target says runs. A target's clean
// refusal waits for an operator; an unavailable target is retried with
// the same key; only a failure after the target changed something is
// rolled back.
//
// A judged canary is never promoted on the clock: a weight whose bake
// ends with no verdict is extended, each extension audited with the
// judge's shortfall and kept in the step's record (its evidence), up to a
// bound; then the run pauses and the weight waits for an operator, whose
// 'continue' promotes it as an audited decision (bake.go).
//
// Entering an environment is governed (entry.go): before a wave starts
// in an environment, every gate the environment names must be pass or
// waived for the wave's services (a GateChecker, one check per wave);
// otherwise the run waits in state waiting, with the blocking (service,
// gate, state, reason) list in its header (Run.Wait), and goes on by
// itself when they clear, each move audited. An environment that needs an
// approval is entered once the quorum of its approvers approved, counted
// with gates.Quorum (distinct people, live, never the run's starter);
// until then the run awaits approval with Run.Wait saying how many it has.
//
// A run is driven by whichever process holds its lease; operators'
// commands (pause, continue, abort, rollback, skip) are commits like the
// engine's own, checked against the state machine, so they work from any
// process.
package deploy
