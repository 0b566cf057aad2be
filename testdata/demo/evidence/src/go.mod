// The demo services' stand-in code: small, real Go packages that the real
// tools (gotestsum, go test -coverprofile, gosec, the SBOM tool, go test
// -bench) run on to produce the demo's evidence. A module of its own, so
// that the warroom module neither builds nor tests it.
module lumen-retail.example/services

go 1.26.8

require (
	github.com/Masterminds/semver/v3 v3.5.0
	golang.org/x/text v0.43.0
)
