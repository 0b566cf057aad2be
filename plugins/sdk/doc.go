// Package sdk is what a warroom provider plugin imports: the Go types and
// interfaces of the three provider kinds (DeployTarget, MonitoringSource,
// Ticketing) and Serve, which runs a plugin with the handshake, gRPC and
// mutual TLS hidden.
//
// A plugin's main is one call:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:         "my-target",
//			Version:      "1.0.0",
//			DeployTarget: &target{},
//		})
//	}
//
// The types here are hand-written and stable; the generated protobuf code
// (plugins/proto/pluginv1) is an implementation detail authors never see.
// The same package gives warroom's host its side of the contract
// (ClientConfig, Dispense): a dispensed client implements the very
// interfaces a plugin implements, so the host and the conformance suite
// speak in these types too.
//
// docs/plugins.md walks through writing a provider; `warroom plugins
// check PATH` runs the conformance suite against a built plugin.
package sdk
