// Package synth generates large synthetic organisations as spec files, for
// benchmarks, load tests and `warroom gen`.
//
// An organisation is a layered, acyclic dependency graph of services: each
// service requires about three APIs of services in lower layers, every
// requirement has exactly one provider whose running version satisfies its
// range, and about one service in three reads or writes a database of the
// bottom layer. Around the graph come teams with escalation paths, one
// external vendor owning upstream services, shared libraries released at
// several versions, quality gates, five environments (production in three
// regions), a holiday freeze, production maintenance windows, a business
// event, a vendor window, and one release that ships a share of the
// services with new versions, some new requirement ranges and one schema
// migration.
//
// The output is a function of Options alone: the same options give the
// same bytes, on every machine and Go release (math/rand/v2's PCG is a
// specified algorithm). Every file is valid against the spec format of
// docs/spec.md, and the release has no blockers: its library conflicts are
// all resolvable and every requirement holds during and after the rollout.
package synth
