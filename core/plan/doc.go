// Package plan builds a release plan: what a release ships, in which
// waves, through which environments and regions and when, and everything
// that stands in its way. It puts the dependency graph (compatibility,
// library conflicts, waves) and the calendar (freezes, maintenance
// windows, business events, vendor windows, low-traffic windows) together
// into one answer, with blockers that stop the release and warnings that
// a captain should read before going ahead.
//
// A plan is a pure function of the organisation and the release: no I/O,
// no clock. Production regions are ordered by their next low-traffic
// window at or after the start of the release window.
package plan
