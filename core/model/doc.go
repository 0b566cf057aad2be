// Package model holds warroom's domain types: the organisation a release
// captain declares in spec files (teams, vendors, shared libraries, services,
// gates, environments, calendar items, releases) and the records the rest of
// the system passes around (stored spec objects, audit events).
//
// The types carry both `yaml` tags, which define the spec file format read by
// package spec, and `json` tags, which define the canonical encoding stored in
// the database and printed by `-o json`. Both spell fields in snake_case so a
// field has one name everywhere. The package does no I/O.
package model
