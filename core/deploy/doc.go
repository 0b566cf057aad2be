// Package deploy is warroom's durable deployment engine: a run made from a
// release plan, whose steps (wave x service x environment x region, and
// the phases of data migrations) move through explicit states, each
// transition persisted before the effect it announces is started.
//
// The engine drives a run through ports it declares: a Journal that
// persists runs atomically with their audit records (the store), Targets
// that deploy (provider plugins), a Judge that rules on canaries, an
// Alerts source, and a Clock. Calls to a target carry an idempotency key
// (run/step/attempt); after a crash the engine asks the target what it
// actually applied (Status) before acting, so no step is repeated blindly
// and none is lost.
//
// A run is driven by whichever process holds its lease; operators'
// commands (pause, continue, abort, rollback, skip) are commits like the
// engine's own, checked against the state machine, so they work from any
// process.
package deploy
