// Command garbage is a misbehaving plugin for warroom's tests: it speaks
// the go-plugin handshake and the warroom.plugin.v1 gRPC services
// correctly, but every answer is nonsense. It registers the generated
// servers itself (the SDK would not let it send some of these answers).
// The set is fixed so tests can rely on it:
//
//   - Info: version "not-semver" (not semantic versioning), which the host
//     refuses at launch. With GARBAGE_VALID_INFO=1 in its environment
//     Info is valid instead, so a test can reach the answers below.
//   - Configure: accepts anything, unknown settings included.
//   - Describe: an unknown strategy "teleport" and max_parallel -1.
//   - Preflight and Verify: checks without a name.
//   - Deploy: one event at 250 percent, then the stream ends without a
//     done event.
//   - SetTraffic: accepts any weights and reports weights summing to 130.
//   - Rollback: an event at -20 percent, then a done event with more
//     instances ready (5) than there are (2).
//   - Status: a service with an empty target.
//
// The host or the conformance suite must call each of these "malformed".
package main

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/warroom/warroom/plugins/proto/pluginv1"
	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: sdk.Handshake,
		Plugins:         plugin.PluginSet{sdk.PluginName: &garbagePlugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

type garbagePlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (garbagePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterProviderServer(s, provider{})
	pluginv1.RegisterDeployTargetServer(s, target{})
	return nil
}

func (garbagePlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil // never a host
}

type provider struct {
	pluginv1.UnimplementedProviderServer
}

func (provider) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	version := "not-semver"
	if os.Getenv("GARBAGE_VALID_INFO") == "1" {
		version = "1.0.0"
	}
	return &pluginv1.InfoResponse{
		Name:        "garbage",
		Version:     version,
		Description: "answers nonsense (a test plugin)",
		Kinds:       []pluginv1.Kind{pluginv1.Kind_KIND_DEPLOY_TARGET},
	}, nil
}

func (provider) Configure(context.Context, *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	return &pluginv1.ConfigureResponse{}, nil
}

type target struct {
	pluginv1.UnimplementedDeployTargetServer
}

func now() int64 { return time.Now().UnixMilli() }

func (target) Describe(context.Context, *pluginv1.DescribeTargetRequest) (*pluginv1.TargetCapabilities, error) {
	return &pluginv1.TargetCapabilities{Strategies: []string{"teleport"}, MaxParallel: -1, Status: true}, nil
}

func (target) Preflight(context.Context, *pluginv1.PreflightRequest) (*pluginv1.PreflightResponse, error) {
	return &pluginv1.PreflightResponse{Checks: []*pluginv1.Check{{Passed: true}}}, nil
}

func (target) Deploy(_ *pluginv1.DeployRequest, s grpc.ServerStreamingServer[pluginv1.DeployEvent]) error {
	return s.Send(&pluginv1.DeployEvent{AtMs: now(), Phase: "warping", Percent: 250})
}

func (target) SetTraffic(context.Context, *pluginv1.SetTrafficRequest) (*pluginv1.SetTrafficResponse, error) {
	return &pluginv1.SetTrafficResponse{Applied: []*pluginv1.TrafficWeight{
		{Version: "1.0.0", Percent: 80}, {Version: "1.1.0", Percent: 50},
	}}, nil
}

func (target) Verify(context.Context, *pluginv1.VerifyRequest) (*pluginv1.VerifyResponse, error) {
	return &pluginv1.VerifyResponse{Checks: []*pluginv1.Check{{Passed: true}}}, nil
}

func (target) Rollback(_ *pluginv1.RollbackRequest, s grpc.ServerStreamingServer[pluginv1.DeployEvent]) error {
	if err := s.Send(&pluginv1.DeployEvent{AtMs: now(), Phase: "unwarping", Percent: -20}); err != nil {
		return err
	}
	return s.Send(&pluginv1.DeployEvent{AtMs: now(), Percent: 100, InstancesReady: 5, InstancesTotal: 2, Done: true})
}

func (target) Status(context.Context, *pluginv1.StatusRequest) (*pluginv1.StatusResponse, error) {
	return &pluginv1.StatusResponse{Services: []*pluginv1.ServiceStatus{
		{Target: &pluginv1.Target{}, Healthy: true, Versions: []*pluginv1.VersionStatus{{Version: "1.0.0", Instances: 1, Ready: 1, Weight: 100}}},
	}}, nil
}
