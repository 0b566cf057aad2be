// Package calendar evaluates the release calendar: it expands calendar
// items (one-off intervals and weekly recurrences in a local time zone,
// daylight-saving correct) into concrete windows, and checks a release's
// window against them — freezes and their exception policy, maintenance
// windows an environment must be changed in, high-impact business events,
// and vendor windows upstream of the scope. It also finds a region's next
// low-traffic window, which times production waves.
//
// Time zones are loaded with time.LoadLocation; the binary embeds
// time/tzdata so results do not depend on the host. Nothing here reads
// the clock: every instant comes in as a parameter.
package calendar
