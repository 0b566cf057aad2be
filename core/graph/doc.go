// Package graph is warroom's service dependency graph: who consumes whose
// API or database, at the versions running now (New) or in the world a
// release leaves behind (ForRelease). On top of the graph it answers the
// questions a release captain asks before shipping a train: does every
// consumer still accept its provider's API version, after the release and
// between its waves (Compatibility); which shared libraries the scope uses
// at different versions and which released version would satisfy everyone
// (LibraryConflicts); in which waves the scope and its schema migrations
// must deploy so that providers and schemas always come first (Waves); what
// a service's failure would take down (BlastRadius); and where the
// dependencies go round in circles (Cycles).
//
// Edges point from consumer to provider. The package does no I/O and keeps
// no package-level state; a Graph is immutable once built and safe for
// concurrent readers.
package graph
