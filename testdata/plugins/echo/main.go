// Command echo is the baseline of warroom's plugin benchmarks: a bare
// hashicorp/go-plugin gRPC plugin that registers the generated
// warroom.plugin.v1 servers directly, with no SDK in between. It answers
// Provider.Info with a constant and streams MonitoringSource.Watch as fast
// as gRPC takes it, 100 samples a message. plugins/bench dials it with a
// raw go-plugin client (its own handshake below, not warroom's) and
// compares it with the same calls through warroom's host and SDK.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/warroom/warroom/plugins/proto/pluginv1"
)

// Handshake is echo's own go-plugin handshake; plugins/bench repeats it.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "WARROOM_ECHO_PLUGIN",
	MagicCookieValue: "echo",
}

// BatchSize is the number of samples in one Watch message.
const BatchSize = 100

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{"echo": &echoPlugin{}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}

type echoPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (echoPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterProviderServer(s, provider{})
	pluginv1.RegisterMonitoringSourceServer(s, monitoring{})
	return nil
}

func (echoPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

type provider struct {
	pluginv1.UnimplementedProviderServer
}

func (provider) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	return &pluginv1.InfoResponse{
		Name:    "echo",
		Version: "1.0.0",
		Kinds:   []pluginv1.Kind{pluginv1.Kind_KIND_MONITORING_SOURCE},
	}, nil
}

type monitoring struct {
	pluginv1.UnimplementedMonitoringSourceServer
}

// Watch sends one series and then batches of samples of it until the
// client cancels. The message is reused: the benchmark measures the
// transport, not the plugin's allocation.
func (monitoring) Watch(_ *pluginv1.WatchRequest, stream grpc.ServerStreamingServer[pluginv1.SampleBatch]) error {
	batch := &pluginv1.SampleBatch{
		Series:  []*pluginv1.SeriesDef{{Id: 1, Metric: "requests", Labels: map[string]string{"service": "echo"}}},
		Samples: make([]*pluginv1.Sample, BatchSize),
	}
	for i := range batch.Samples {
		batch.Samples[i] = &pluginv1.Sample{Series: 1}
	}
	var t int64
	for {
		for _, s := range batch.Samples {
			t++
			s.TMs = t
			s.Value = float64(t)
		}
		if err := stream.Send(batch); err != nil {
			return nil // the client went away: that is how a watch ends
		}
		batch.Series = nil
		if stream.Context().Err() != nil {
			return nil
		}
	}
}
