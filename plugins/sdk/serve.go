package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// Serve runs the plugin: it answers warroom's handshake, serves the
// plugin's kinds over gRPC and returns only when warroom stops the
// plugin. A Plugin that is not valid (no name, a version that is not
// semver, no kind) is a programming error: Serve prints why on stderr and
// exits with status 1.
//
// Until a plugin with a Configure func has been configured successfully,
// every call but Info and Configure fails with CodeFailedPrecondition
// ("not configured"); a failed Configure leaves it unconfigured. A plugin
// without a Configure func refuses settings it does not declare in
// Settings and requires those marked Required.
//
// A panic in the plugin's code while it answers a call fails that call
// with CodeInternal and a message naming the method; the plugin keeps
// serving. Panics in goroutines the plugin starts itself are not caught.
//
// Logs go to stderr as hclog JSON, which warroom files in its log.
func Serve(p Plugin) {
	if err := p.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot serve this plugin: %v\n", os.Args[0], err)
		os.Exit(1)
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       p.Name,
		Level:      hclog.Info,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         pluginSet(p, logger),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}

// pluginSet is the plugin map Serve serves; tests hand it to
// plugin.TestPluginGRPCConn to run a plugin in-process.
func pluginSet(p Plugin, logger hclog.Logger) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &grpcPlugin{p: p, logger: logger}}
}

// validate reports every problem of a Plugin at once.
func (p Plugin) validate() error {
	var errs []error
	if strings.TrimSpace(p.Name) == "" {
		errs = append(errs, errors.New("Name is empty"))
	}
	if _, err := semver.StrictNewVersion(p.Version); err != nil {
		errs = append(errs, fmt.Errorf("Version %q is not a semantic version like 1.2.3: %v", p.Version, err))
	}
	if len(p.Kinds()) == 0 {
		errs = append(errs, errors.New("no provider kind: set DeployTarget, MonitoringSource or Ticketing"))
	}
	seen := make(map[string]bool)
	for i, s := range p.Settings {
		switch {
		case strings.TrimSpace(s.Name) == "":
			errs = append(errs, fmt.Errorf("Settings[%d] has no name", i))
		case seen[s.Name]:
			errs = append(errs, fmt.Errorf("setting %q is declared twice", s.Name))
		}
		seen[s.Name] = true
	}
	return errors.Join(errs...)
}

// grpcPlugin is the go-plugin side of the SDK: on the plugin it registers
// the services, on the host it wraps the connection in a *Conn.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin

	p      Plugin       // the plugin served; zero on the host
	logger hclog.Logger // nil on the host
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (g *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	logger := g.logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	srv := &server{p: g.p, log: logger}
	pb.RegisterProviderServer(s, &providerServer{s: srv})
	// A kind not served is not registered: gRPC answers its calls with
	// Unimplemented, which clients turn into CodeUnimplemented.
	if g.p.DeployTarget != nil {
		pb.RegisterDeployTargetServer(s, &deployTargetServer{s: srv, impl: g.p.DeployTarget})
	}
	if g.p.MonitoringSource != nil {
		pb.RegisterMonitoringSourceServer(s, &monitoringSourceServer{s: srv, impl: g.p.MonitoringSource})
	}
	if g.p.Ticketing != nil {
		pb.RegisterTicketingServer(s, &ticketingServer{s: srv, impl: g.p.Ticketing})
	}
	return nil
}

func (g *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &Conn{impl: newConn(cc)}, nil
}
