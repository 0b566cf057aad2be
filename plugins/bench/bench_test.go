package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/proto/pluginv1"
	"github.com/warroom/warroom/plugins/sdk"
)

// The plugins, built once per test binary.
var echoBin, fastBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "warroom-bench-")
	if err != nil {
		panic(err)
	}
	echoBin, fastBin = filepath.Join(dir, "echo"), filepath.Join(dir, "fast")
	for bin, src := range map[string]string{echoBin: "echo", fastBin: "fast"} {
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/plugins/"+src)
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", src, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	plugin.CleanupClients()
	os.RemoveAll(dir)
	os.Exit(code)
}

// echoHandshake is testdata/plugins/echo's handshake.
var echoHandshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "WARROOM_ECHO_PLUGIN",
	MagicCookieValue: "echo",
}

// rawPlugin dispenses the bare gRPC connection.
type rawPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (rawPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (rawPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// launchEcho starts the bare plugin with a raw go-plugin client.
func launchEcho(tb testing.TB, mtls bool) *grpc.ClientConn {
	tb.Helper()
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  echoHandshake,
		Plugins:          plugin.PluginSet{"echo": rawPlugin{}},
		Cmd:              exec.Command(echoBin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         mtls,
		Managed:          true,
		Logger:           hclog.NewNullLogger(),
	})
	tb.Cleanup(c.Kill)
	cp, err := c.Client()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := cp.Dispense("echo")
	if err != nil {
		tb.Fatal(err)
	}
	return raw.(*grpc.ClientConn)
}

// launchFast starts the SDK plugin through warroom's host.
func launchFast(tb testing.TB) *host.Plugin {
	tb.Helper()
	p, err := host.Launch(context.Background(), fastBin, host.LaunchOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Kill)
	return p
}

// caller is one way of making the trivial call.
type caller struct {
	name   string
	launch func(testing.TB) func(context.Context) error
}

var callers = []caller{
	{"bare", func(tb testing.TB) func(context.Context) error {
		c := pluginv1.NewProviderClient(launchEcho(tb, false))
		return func(ctx context.Context) error { _, err := c.Info(ctx, &pluginv1.InfoRequest{}); return err }
	}},
	{"bare-mtls", func(tb testing.TB) func(context.Context) error {
		c := pluginv1.NewProviderClient(launchEcho(tb, true))
		return func(ctx context.Context) error { _, err := c.Info(ctx, &pluginv1.InfoRequest{}); return err }
	}},
	{"host", func(tb testing.TB) func(context.Context) error {
		t := launchFast(tb).DeployTarget()
		return func(ctx context.Context) error { _, err := t.Describe(ctx); return err }
	}},
}

// timings collects call durations for a median.
type timings []time.Duration

func (ts timings) median() time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[len(s)/2]
}

func µs(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func BenchmarkUnary(b *testing.B) {
	for _, c := range callers {
		b.Run(c.name, func(b *testing.B) {
			call := c.launch(b)
			ctx := context.Background()
			for range 100 { // warm up the connection
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
			}
			ts := make(timings, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				if err := call(ctx); err != nil {
					b.Fatal(err)
				}
				ts = append(ts, time.Since(t0))
			}
			b.ReportMetric(µs(ts.median()), "median-µs")
		})
	}
}

// BenchmarkUnaryOverhead interleaves the bare calls and the host's, so
// that both are measured under the same load, and reports the host's
// overhead over each bare baseline.
func BenchmarkUnaryOverhead(b *testing.B) {
	calls := make([]func(context.Context) error, len(callers))
	for i, c := range callers {
		calls[i] = c.launch(b)
	}
	ctx := context.Background()
	ts := make([]timings, len(callers))
	for i := range ts {
		ts[i] = make(timings, 0, b.N)
	}
	for range 100 {
		for _, call := range calls {
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for i, call := range calls {
			t0 := time.Now()
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
			ts[i] = append(ts[i], time.Since(t0))
		}
	}
	b.StopTimer()
	bare, bareTLS, hosted := ts[0].median(), ts[1].median(), ts[2].median()
	b.ReportMetric(µs(bare), "bare-median-µs")
	b.ReportMetric(µs(bareTLS), "bare-mtls-median-µs")
	b.ReportMetric(µs(hosted), "host-median-µs")
	b.ReportMetric(100*(float64(hosted)/float64(bare)-1), "overhead-%")
	b.ReportMetric(100*(float64(hosted)/float64(bareTLS)-1), "overhead-vs-mtls-%")
}

// counter is the SampleWriter of the host's Watch: it counts, and ends
// the watch once it has n samples.
type counter struct {
	n      int64
	got    atomic.Int64
	cancel context.CancelFunc
}

func (c *counter) Series(string, map[string]string) sdk.SeriesID { return 1 }

func (c *counter) Write(sdk.SeriesID, int64, float64) error {
	if c.got.Add(1) == c.n {
		c.cancel()
	}
	return nil
}

func (c *counter) Flush() error { return nil }

func BenchmarkWatch(b *testing.B) {
	for _, mtls := range []bool{false, true} {
		name := "bare"
		if mtls {
			name = "bare-mtls"
		}
		b.Run(name, func(b *testing.B) {
			mc := pluginv1.NewMonitoringSourceClient(launchEcho(b, mtls))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ResetTimer()
			start := time.Now()
			stream, err := mc.Watch(ctx, &pluginv1.WatchRequest{Metrics: []string{"requests"}})
			if err != nil {
				b.Fatal(err)
			}
			var n int
			batch := new(pluginv1.SampleBatch)
			for n < b.N {
				if err := stream.RecvMsg(batch); err != nil {
					b.Fatal(err)
				}
				n += len(batch.GetSamples())
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			b.ReportMetric(float64(n)/elapsed.Seconds(), "samples/s")
		})
	}
	b.Run("host", func(b *testing.B) {
		src := launchFast(b).MonitoringSource()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &counter{n: int64(b.N), cancel: cancel}
		b.ResetTimer()
		start := time.Now()
		if err := src.Watch(ctx, sdk.WatchRequest{Metrics: []string{"requests"}}, w); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if got := w.got.Load(); got < int64(b.N) {
			b.Fatalf("the watch ended after %d of %d samples", got, b.N)
		}
		b.ReportMetric(float64(w.got.Load())/elapsed.Seconds(), "samples/s")
	})
}
