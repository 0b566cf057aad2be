// Command tickets-local is warroom's default ticketing system: a small
// change tracker in its own SQLite file, for organisations without Jira
// or ServiceNow and for the demo. It files change requests, follows their
// approvals through a fixed state machine, keeps comments, and puts
// notifications in an outbox table that something else may deliver.
//
// # Settings
//
//	path                SQLite file; relative to the state dir (default <state dir>/tickets.db)
//	url                 base of the URL shown for a change, the id appended (default "local:")
//	approvals_required  distinct approvers a normal change needs (default 1)
//
// Any other setting is refused.
//
// # Changes and their states
//
// A change gets an id CHG-000001, CHG-000002, ... from a sequence. Filing
// a change submits it for approval: a normal or emergency change starts
// "submitted", a standard change (pre-approved by policy) "approved".
//
//	draft        -> submitted, cancelled
//	submitted    -> approved, rejected, draft, cancelled
//	approved     -> scheduled, implementing, cancelled
//	scheduled    -> implementing, cancelled
//	implementing -> implemented, failed
//	implemented  -> closed
//	failed       -> closed
//	rejected     -> draft, closed
//	cancelled, closed: final
//
// Any other move fails with CodeFailedPrecondition naming the current
// state and the moves allowed from it. Moving to the state a change is
// already in does nothing and succeeds, so a retried call is harmless.
//
// Approving is a transition to "approved" by an actor with a role. It is
// recorded as an approval, but the change only becomes approved when
// enough distinct people have approved it: approvals_required for a
// normal change, one for an emergency change; and every entry of the
// change's approvers_required must be matched by the name or the role of
// one of them. Until then it stays submitted. Nobody approves their own
// change (the actor may not be the change's requested_by). A transition
// to "rejected" records a rejection by the actor. Moving a change back to
// draft (to rework it) and submitting it again starts a new round: earlier
// approvals stay in its history but no longer count. The reason of any
// other transition is kept as a comment by the actor.
//
// CreateChange and Notify are idempotent by key: asked again with a key,
// they return what the first call made. Notify stores each message in the
// outbox (recipients, subject, body, severity, change, channel, time) and
// reports every recipient as delivered to it, with a message id
// MSG-000001...; any channel name is accepted and kept for the deliverer.
//
// All times are UTC. The database runs in WAL mode with a busy timeout
// and foreign keys on, every write in one immediate transaction, so two
// plugin processes may share a file.
package main
