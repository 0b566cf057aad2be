package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
)

// The host's side of the contract: warroom's plugin host (plugins/host)
// and the conformance suite launch plugins with go-plugin using these.

// ProtocolVersion is the plugin protocol version of this SDK: v1 of the
// warroom.plugin gRPC package.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake between warroom and a plugin. The
// magic cookie only keeps a plugin binary from being run by hand by
// mistake; it is not a security measure (checksums and mTLS are).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "WARROOM_PLUGIN",
	MagicCookieValue: "8f3c1e7a-warroom-provider-plugin",
}

// PluginName is the single name a warroom plugin is dispensed under.
const PluginName = "warroom"

// PluginSet is the go-plugin plugin map for a host: dispensing PluginName
// yields a *Conn.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{PluginName: &grpcPlugin{}}
}

// Conn is a host's connection to one launched plugin. Its accessors
// return clients that implement the same interfaces a plugin implements.
type Conn struct {
	impl *conn
}

// Info asks the plugin who it is.
func (c *Conn) Info(ctx context.Context) (Info, error) { return c.impl.info(ctx) }

// Configure hands the plugin its settings.
func (c *Conn) Configure(ctx context.Context, cfg Config) error { return c.impl.configure(ctx, cfg) }

// DeployTarget is the plugin's deploy target. It is always non-nil: calls
// to a plugin that does not serve the kind fail with CodeUnimplemented.
func (c *Conn) DeployTarget() DeployTarget { return c.impl.deployTarget() }

// MonitoringSource is the plugin's monitoring source (see DeployTarget).
func (c *Conn) MonitoringSource() MonitoringSource { return c.impl.monitoringSource() }

// Ticketing is the plugin's ticketing system (see DeployTarget).
func (c *Conn) Ticketing() Ticketing { return c.impl.ticketing() }
