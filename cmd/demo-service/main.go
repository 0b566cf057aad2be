// Command demo-service is the small HTTP service the local fleet
// (plugins/localfleet) runs as its instances: one process per instance,
// with a version and, to make a version genuinely bad, faults.
//
// Usage:
//
//	demo-service --service payments --version 3.2.0 --instance 1 \
//	    [--listen 127.0.0.1:0] [--error-rate 0.3] [--latency 200ms] \
//	    [--crash-on-start] [--slow-start 5s] [--crash-after 100] \
//	    [--base-error-rate R] [--median-latency 30ms] [--latency-sigma 0.5] \
//	    [--seed N]
//
// Every flag can also come from the environment, the flag's name in upper
// case with DEMO_ in front and - as _ (DEMO_ERROR_RATE=0.3); a flag on
// the command line wins.
//
// Once listening it prints one line on stdout, `listening http://ADDR`,
// which is how the fleet learns an ephemeral port; logs go to stderr.
//
// A healthy version is not perfect, as no real service is (the profile,
// shared by every version of a service):
//
//	--base-error-rate R  each application request fails (500) with
//	                     probability R; default: drawn from the service's
//	                     name, uniformly between 0.1 % and 0.5 %, so every
//	                     version of a service has the same
//	--median-latency D   each application request takes a log-normal time
//	--latency-sigma S    with median D (30ms) and shape S (0.5: the p95 is
//	                     2.3 and the p99 3.2 times the median); 0 and 0:
//	                     no latency of its own
//	--seed N             seeds the random draws (0, the default: a seed of
//	                     its own), for tests that want one sequence
//
// Endpoints:
//
//	GET /           {"service": ..., "version": ..., "instance": N}
//	GET /work?ms=N  waits N milliseconds (at most 10 s): simulated work
//	GET /healthz    200 when ready, 503 during a slow start
//	GET /metrics    Prometheus text (VictoriaMetrics/metrics):
//	                requests_total{service,version,code},
//	                request_duration_seconds{service,version} (a
//	                Prometheus histogram, le buckets fixed at 20 per
//	                decade from 1 ms to 10 s) and the process metrics
//	                (process_*, go_*)
//
// Faults apply to the application endpoints (/ and /work), not to
// /healthz or /metrics, which are the fleet's and are not counted:
//
//	--error-rate R      answer each request 500 with probability R, drawn
//	                    at random for each request (on top of the base
//	                    errors)
//	--latency D         add D to every request (on top of its own latency)
//	--crash-on-start    exit with status 1 at once, before listening
//	--slow-start D      not ready (503) until D after the start
//	--crash-after N     exit with status 1 after answering N requests
//
// SIGTERM or SIGINT stop it gracefully (in-flight requests finish) with
// status 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the parsed flags.
type options struct {
	listen       string
	service      string
	version      string
	instance     int
	crashOnStart bool
	faults       faults
	profile      profile
	seed         uint64
}

// parseOptions reads flags, with DEMO_* environment variables as their
// defaults.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("demo-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var errorRate float64
	var latency, slowStart time.Duration
	var crashAfter int64
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "address to listen on; port 0 picks a free one")
	fs.StringVar(&o.service, "service", "demo", "service name, reported by / and in the metrics")
	fs.StringVar(&o.version, "version", "0.0.0", "version, reported by / and in the metrics")
	fs.IntVar(&o.instance, "instance", 1, "instance number, reported by /")
	fs.Float64Var(&errorRate, "error-rate", 0, "fraction 0..1 of requests answered 500")
	fs.DurationVar(&latency, "latency", 0, "latency added to every request (with jitter)")
	fs.BoolVar(&o.crashOnStart, "crash-on-start", false, "exit with status 1 at once")
	fs.DurationVar(&slowStart, "slow-start", 0, "not ready before this long after the start")
	fs.Int64Var(&crashAfter, "crash-after", 0, "exit with status 1 after this many requests (0: never)")
	baseErrorRate := -1.0
	fs.Float64Var(&baseErrorRate, "base-error-rate", -1, "probability 0..1 that any request fails, healthy or not (default: drawn from the service's name, 0.001 to 0.005)")
	fs.DurationVar(&o.profile.MedianLatency, "median-latency", defaultMedianLatency, "median of each request's own log-normal latency")
	fs.Float64Var(&o.profile.LatencySigma, "latency-sigma", defaultLatencySigma, "shape (log-space standard deviation) of the log-normal latency")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the random draws (0: a seed of its own)")
	// The environment gives the defaults; the command line wins.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "DEMO_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return o, envErr
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case errorRate < 0 || errorRate > 1:
		return o, fmt.Errorf("--error-rate %v: want a fraction between 0 and 1", errorRate)
	case latency < 0:
		return o, fmt.Errorf("--latency %v is negative", latency)
	case slowStart < 0:
		return o, fmt.Errorf("--slow-start %v is negative", slowStart)
	case crashAfter < 0:
		return o, fmt.Errorf("--crash-after %d is negative", crashAfter)
	case baseErrorRate != -1 && (baseErrorRate < 0 || baseErrorRate > 1):
		return o, fmt.Errorf("--base-error-rate %v: want a fraction between 0 and 1", baseErrorRate)
	case o.profile.MedianLatency < 0:
		return o, fmt.Errorf("--median-latency %v is negative", o.profile.MedianLatency)
	case o.profile.LatencySigma < 0 || o.profile.LatencySigma > 3:
		return o, fmt.Errorf("--latency-sigma %v: want 0 to 3", o.profile.LatencySigma)
	}
	o.profile.BaseErrorRate = baseErrorRate
	if baseErrorRate == -1 {
		o.profile.BaseErrorRate = serviceBaseErrorRate(o.service)
	}
	o.faults = faults{ErrorRate: errorRate, Latency: latency, SlowStart: slowStart, CrashAfter: crashAfter}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo-service: %v\n", err)
		return 2
	}
	who := fmt.Sprintf("%s %s instance %d", o.service, o.version, o.instance)
	if o.crashOnStart {
		fmt.Fprintf(stderr, "demo-service: %s: crash-on-start fault: exiting\n", who)
		return 1
	}
	// Catch signals before listening: once the address is out, a fleet may
	// stop the process at any moment, and must find it stopping cleanly.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(stderr, "demo-service: %s: %v\n", who, err)
		return 1
	}
	s := newServer(o.service, o.version, o.instance, o.faults, nil).withProfile(o.profile, o.seed)
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening http://%s\n", ln.Addr())

	code := 0
	select {
	case sig := <-sigs:
		fmt.Fprintf(stderr, "demo-service: %s: %s: stopping\n", who, sig)
	case <-s.crashed:
		fmt.Fprintf(stderr, "demo-service: %s: crash-after fault: exiting after %s requests\n", who, strconv.FormatInt(o.faults.CrashAfter, 10))
		code = 1
	case err := <-served:
		fmt.Fprintf(stderr, "demo-service: %s: %v\n", who, err)
		return 1
	}
	// Let in-flight requests (the last one before a crash included)
	// finish, but not for long.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && code == 0 {
		code = 1
	}
	return code
}
