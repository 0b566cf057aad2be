// Command badinfoplugin speaks the warroom handshake and gRPC but answers
// Info with nonsense: no name, a version that is not semver. The SDK's
// Serve would refuse to serve such a plugin, so it is built on go-plugin
// directly.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: sdk.Handshake,
		Plugins:         plugin.PluginSet{sdk.PluginName: grpcPlugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

type grpcPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterProviderServer(s, provider{})
	return nil
}

func (grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	panic("plugin side only")
}

type provider struct{ pb.UnimplementedProviderServer }

func (provider) Info(context.Context, *pb.InfoRequest) (*pb.InfoResponse, error) {
	return &pb.InfoResponse{Name: "", Version: "banana", Kinds: []pb.Kind{pb.Kind_KIND_DEPLOY_TARGET}}, nil
}
