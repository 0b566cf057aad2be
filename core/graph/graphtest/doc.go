// Package graphtest builds organisations for tests and benchmarks of the
// graph, calendar and plan packages: Shop, a small realistic one that tests
// bend to their purpose, and SyntheticOrg, a layered DAG of services of any
// size with a release over part of it. The organisations are
// deterministic (a fixed seed) and consistent: every requirement has a
// provider and is satisfied, so whatever a test breaks on purpose is the
// only thing broken.
package graphtest
