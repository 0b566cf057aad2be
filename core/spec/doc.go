// Package spec reads, validates and applies warroom's spec files: the YAML
// in which a release captain declares teams, vendors, libraries, services,
// gates, environments, calendar items and releases.
//
// Parsing is strict and exhaustive: unknown keys, wrong types, empty list
// items, values outside their closed sets, dangling references, invalid
// versions and ranges, duplicate names and dependency cycles are all
// errors, every error of a run is reported at once, and each carries the
// file, line and column it is about (for a YAML syntax error, the
// character at fault) and a hint on how to fix it. Values quoted in
// messages are clipped; oversized files, alias bombs and deep nesting are
// refused quickly.
//
// Check is the one validation: validate calls it, and Apply calls it
// before writing anything, so the two never disagree. Applying computes
// what a spec changes against the stored objects and writes it through a
// Catalog the caller provides, inside the caller's transaction: a spec
// with any error writes nothing.
package spec
