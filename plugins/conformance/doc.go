// Package conformance is warroom's conformance suite for provider plugins:
// a list of named checks, each passed or failed with a message, that any
// plugin binary can be run against. `warroom plugins check PATH` prints
// its report; a plugin author runs it from `go test` with RunT.
//
// The suite checks what every plugin must do (Info is sane, the declared
// defaults are accepted, an unknown setting is refused with CodeInvalid)
// and then, per provider kind the plugin declares, the contract of that
// kind: DeployTarget (Describe, Status, Preflight, Deploy ending with
// exactly one done event, idempotency keys honoured, Verify, SetTraffic
// refusing a split that does not sum to 100, Rollback), MonitoringSource
// (Describe, Query, Watch ending on cancel, Alerts, Logs) and Ticketing
// (Describe, CreateChange and its idempotency key, GetChange, NotFound,
// Comment, an invalid transition refused, Notify).
//
// Checks that change something (Deploy, SetTraffic, Rollback,
// CreateChange, Comment, Transition, Notify) run only in a sandbox: Check
// and RunT launch the plugin with a fresh temporary state directory and
// only the settings the operator gives, never a production
// configuration. Run on a plugin launched elsewhere runs the read-only
// checks unless Options.Sandboxed says otherwise.
//
// Every check has a deadline. A plugin that crashes, hangs or answers
// nonsense fails the checks it touches, with a message naming the fault
// the host classified (crashed, timeout, malformed, ...); it never crashes
// or hangs the suite.
package conformance
