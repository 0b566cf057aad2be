// Package runner is the machinery shared by the deploy-target plugins
// that drive an outside program per phase (plugins/exec runs shell
// commands, plugins/ansible runs ansible-playbook):
//
//   - Run starts a program in its own process group with a minimal
//     environment (Environ), streams its stdout line by line, keeps the
//     tail of its stderr, and enforces a timeout or the caller's
//     cancellation on the whole group: SIGTERM, then SIGKILL once the
//     program has exited or a grace period has passed.
//   - Journal is the idempotency journal: an append-only file of JSON
//     lines, each fsync'd before the program starts or the call returns.
//     Journal.Do runs a state-changing call (deploy, rollback,
//     set_traffic) at most once per idempotency key and replays the
//     recorded outcome of a key already done or failed; Journal.Services
//     and Journal.AppliedKeys answer Status from what was recorded.
//   - DecodeStatus, MergeKeys and ValidateWeights are the small rules
//     both plugins apply the same way.
//
// Errors are returned without a plugin prefix; a plugin wraps them
// (fmt.Errorf("exec: %w", err)), which keeps their sdk.Code.
package runner
