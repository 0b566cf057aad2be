// Command localfleet is warroom's embedded default deploy target, the one
// the demo uses: a fleet of real local processes on 127.0.0.1, so that
// rolling replacements, blue-green switches and canary weights really move
// traffic on one laptop.
//
// For each target (service, environment, region) it runs instances of the
// demo service (cmd/demo-service: one process per instance, ephemeral
// port) and one weighted reverse proxy (net/http/httputil, ephemeral
// port). The fleet outlives the plugin process: it lives in a supervisor
// process per state dir (see "The supervisor" below), which a new plugin
// process adopts, so that a warroom that quits or crashes in the middle
// of a run finds its instances, versions and weights again when it
// resumes.
//
// # Settings
//
//	service_binary        the demo-service binary (default: demo-service in the
//	                      parent of the plugin binary's directory, i.e.
//	                      bin/demo-service for bin/plugins/localfleet)
//	faults                faults per version: `SERVICE@VERSION=FAULT[,FAULT...]`
//	                      entries separated by `;` or new lines, e.g.
//	                      `payments@3.2.0=error-rate=0.3,latency=200ms`
//	faults_file           a file of such entries, one per line, # comments;
//	                      relative to the state dir; read again at every
//	                      instance start, so a version can be made bad live
//	health_timeout        time a new instance has to answer 200 on /healthz (30s)
//	smoke_requests        Verify's rounds of GET / and GET /healthz (20)
//	smoke_max_error_rate  the highest smoke error rate that passes (0.05)
//	traffic_rps           the traffic generator's requests/s per proxy; 0: off (200)
//	traffic_idle          a target's traffic pauses when no call of the engine
//	                      named it for this long, until the next; 0: never (20s)
//	max_instances         instances per version per target at most (4): the demo's
//	                      specs ask for 12 or 24; a deploy says when it runs fewer
//	max_processes         demo-service processes of the whole fleet at most (100)
//	evict_idle            when full, stop the instances of the target changed
//	                      longest ago that no call is using, instead of refusing
//	                      (false)
//	idle_exit             how long the supervisor lives on with no process
//	                      running and no call; 0: until stopped (5m)
//
// Faults are the demo service's flags: error-rate=R (each request
// answered 500 with probability R, drawn at random per request, on top
// of the service's base errors), latency=D (D added to every request),
// crash-on-start, slow-start=D, crash-after=N. A deploy request's
// Settings may add `fault.NAME` keys for the version it deploys (its
// other settings are for other targets and are ignored). A deploy of a
// service for which faults are configured on another version, neither
// the one deployed nor the one replaced, says so in its events and the
// plugin's log ("warning: faults are configured for checkout 4.9.1,
// which this deploy does not run"): most likely a typo in the version.
// Verify's request Settings may override smoke_requests and
// smoke_max_error_rate.
//
// Healthy versions are not perfect either: every instance answers with
// the demo service's profile, a base error rate drawn per service between
// 0.1 % and 0.5 % (the same for all its versions) and a log-normal
// latency of median 30 ms (sigma 0.5: p95 about 68 ms, p99 about 96 ms).
// The fleet passes DEMO_BASE_ERROR_RATE, DEMO_MEDIAN_LATENCY and
// DEMO_LATENCY_SIGMA from its own environment to every instance (the
// instances' environment is otherwise fixed), so a test can ask for
// perfect instances (DEMO_BASE_ERROR_RATE=0 DEMO_MEDIAN_LATENCY=0).
//
// # Strategies
//
// A deploy asks for Instances (default 4, at most max_instances) of a
// version. Every new instance must answer 200 on /healthz within
// health_timeout; one that exits first fails the deploy ("payments 3.2.0
// instance 1 exited with status 1 before becoming healthy: crash-on-start
// fault: exiting"). A failed deploy leaves what runs as it is (Status
// shows it) for Rollback or the next deploy to clean up; deploys converge,
// so running one again is safe.
//
// When nothing runs for the target (the fleet starts empty) and the
// request names a FromVersion, that version is brought up first, as the
// baseline being replaced: canaries then have a real baseline, and
// rollbacks something to return to.
//
//   - rolling: batch by batch (BatchSize, default 1): a batch of new
//     instances starts and passes /healthz, then as many old ones stop.
//     Traffic follows instances: each ready instance gets an equal share,
//     whatever its version. Stateful, database and queue services always
//     deploy rolling (a canary request for them is deployed rolling and
//     says so); blue-green is refused for them (Describe:
//     blue_green_stateful false).
//   - blue-green: the new colour comes up beside the live one and idles;
//     the proxy keeps 100% on the live colour until SetTraffic switches
//     (an in-memory change: instant). The old colour stays running, idle,
//     for an instant rollback, until the next deploy of the target stops
//     it.
//   - canary: the canary's instances start beside the live version with
//     0% of the traffic; SetTraffic moves the weight. When SetTraffic
//     gives the canary 100%, the old version's instances stop at once:
//     the fleet stays light (a target holds one version between
//     deploys), and a rollback after that starts the old version again
//     (a fraction of a second per instance) instead of being a pure
//     switch.
//
// SetTraffic accepts a split (summing to 100) as long as one version
// given traffic runs; a version given traffic that has no ready instance
// has its share spread over the others, and Status says so. It is refused
// (FailedPrecondition) when none runs.
//
// Rollback puts 100% of the traffic on ToVersion (starting its
// instances first if they are gone; instant when the old colour or
// baseline still runs), then stops every other version.
//
// # The proxy
//
// Each target's proxy spreads requests over versions by a smooth
// weighted round robin, deterministic: with weights 10/90 every 100
// requests are exactly 10 and 90; then round robin over the version's
// ready instances. A request with the header X-Warroom-Version: V goes to
// an instance of V whatever the weights (Verify pins its requests so).
// Answers carry X-Warroom-Backend: V#N, the instance that answered. The
// proxies' URLs are in <state dir>/endpoints.json, rewritten whenever a
// proxy starts or stops:
//
//	{"payments/prod/eu-west": "http://127.0.0.1:40123", ...}
//
// and every instance's /metrics URL is in <state dir>/scrape-targets.json,
// by target and version, the targets_file format of the scrape monitoring
// source:
//
//	{"payments/prod/eu-west@3.2.0": ["http://127.0.0.1:40200/metrics"], ...}
//
// A new supervisor listens on the same ports again when they are free.
// A traffic generator sends GET / through each proxy at Poisson
// arrivals of traffic_rps a second (independent exponential gaps, as
// independent users' requests come), so that canaries have real traffic
// and the instances' /metrics real counts. At most 256 of its requests
// are in flight per proxy; an arrival beyond that is dropped. 200 a
// second is about what the canary judge needs at the demo's bake scale
// (0.002: a 15-minute bake is 1.8 s per weight) to roll back a canary
// with a 5 % error rate within its bake (a +100 ms one takes 2 s);
// proving a healthy canary safe within a bake that short needs more than
// one laptop serves, so healthy demo canaries end their bake with
// insufficient evidence.
//
// Health: the fleet probes every instance's /healthz each second, and
// Status probes again before answering; an instance that exits is known
// at once. Instances that die are not restarted: a crash is a fact the
// status reports ("3.1.0 instance 2 (pid 4242) was killed by signal
// killed at 10:42:07") until the next change of the target.
//
// # Verify
//
// Two checks, both by default (VerifyRequest.Checks may name them):
// healthy (every instance of the version answers 200 on /healthz, asked
// directly) and smoke (smoke_requests rounds of GET / and GET /healthz
// through the proxy, pinned to the version; fails when more than
// smoke_max_error_rate of them fail, where a failure is no answer, a
// status other than 200, or / answered by another version). Evidence:
// the counts, the status codes, p50 and max latency.
//
// # Idempotency and restarts
//
// Deploy, Rollback and SetTraffic carry an idempotency key, kept in a
// journal like the exec plugin's: localfleet-journal.jsonl in the state
// dir, one fsync'd JSON line per state change of a key (started, done,
// failed). A call repeated with a done or failed key does not act again:
// Deploy and Rollback send a done event with Replayed set (and Failed if
// it had failed), SetTraffic returns the recorded weights. A key left
// "started" (the plugin died mid-call, the call was cancelled, or it was
// refused: bad request, nothing to split, fleet full) is not applied, and
// a repeat acts again. Status lists the done keys as AppliedKeys.
//
// The journal is the supervisor's, and so is every call: a call in
// flight when its plugin process dies is cancelled (its key stays
// "started", so the repeat from the next plugin process acts again; a
// repeat that comes while the first is still winding down waits for it),
// and a finished key is replayed whichever plugin process asks.
//
// The journal outlives the fleet when the supervisor ends (stopped, or
// killed: its instances die with it). A new supervisor starts empty while
// the journal still lists, say, a deploy of payments 3.2.0 as applied.
// It does not believe the journal's picture of what runs: Status reports
// what runs now — nothing, with a message naming the journal's last
// change of each target — and still lists the applied keys, so that the
// engine does not repeat a deployment that completed. What the engine
// does next finds the truth: a Verify of the "deployed" version fails
// (nothing runs), SetTraffic is refused, and a Rollback brings the old
// version up again.
//
// # The supervisor
//
// Configure adopts the supervisor of the state dir if one answers; if
// none does, the first call that needs the fleet starts
// `localfleet supervise STATE_DIR` (this binary), so that configuring the
// plugin alone (`warroom plugins list`) leaves nothing running. It runs
// detached, in its own session (warroom kills a
// plugin's process group, and a terminal's Ctrl-C reaches its process
// group: neither reaches the supervisor), with no parent-death signal,
// its output in <state dir>/supervisor.log. It holds an flock on
// <state dir>/supervisor.lock for as long as it lives (one supervisor per
// state dir) and serves the fleet on the Unix socket
// <state dir>/supervisor.sock: HTTP with JSON bodies, one call per
// DeployTarget method, deployments streamed an event a line (the
// protocol is in package fleetctl). The state dir is made 0700 and every
// file in it is 0600: only its owner can drive the fleet.
//
// The instances are the supervisor's children, with Pdeathsig=SIGKILL to
// it (forked from one OS thread that lives as long as the fleet): a
// killed supervisor leaves no orphan, and the next call of the plugin
// starts a new, empty one. A call that finds the supervisor gone while
// it runs fails, naming localfleet, the state dir and the supervisor's
// log (code Unavailable; a deployment ends with a failed done event,
// which carries no code); a supervisor that does not answer within 5s is
// reported the same way.
//
// Settings given by a plugin process that adopts a running fleet apply to
// it from then on (faults, limits and the binary at their next use,
// traffic_rps at once).
//
// The supervisor ends, stopping every instance (SIGTERM, SIGKILL after
// 3s) and proxy first, when it is told to (`localfleet stop STATE_DIR`,
// or fleetctl.Stop: both return once nothing of the fleet runs), on
// SIGTERM or SIGINT, when its state dir is removed (checked every
// second), or when it has had no process running and no call for
// idle_exit (5m by default). Quitting warroom does not end it: warroom stops it
// deliberately when nothing needs it (the demo when it ends; the console,
// when no run is unfinished).
//
// # One warroom per fleet
//
// A plugin process takes an flock on <state dir>/fleet.lock in Configure
// (released by the kernel when the process dies); a second one's
// Configure fails with "another warroom process (pid N) runs this local
// fleet", N being the first one's warroom (the plugin's parent).
//
// # Resources
//
// A demo-service process is about 8 MB RSS, most of it the binary's
// pages shared by all of them: about 2 MB PSS each (GOMAXPROCS=1,
// GOGC=50). Measured with 10 instances behind 5 proxies at 20
// requests/s each: 84 MB RSS / 21 MB PSS for the instances, 25 MB RSS
// for the process running the proxies (the supervisor now: 22 MB with
// 10 instances behind 3 proxies), 17% of one core in all (each generated
// request crosses the proxy: about 1 ms of CPU there and 0.6 ms in an
// instance); the load grows with traffic_rps and with the targets in
// use (traffic_idle pauses the others), so at the default 200 a second
// lower it for a fleet of many targets in use at once. The plugin
// process itself only forwards calls. max_processes bounds the fleet
// (100 processes: about 200 MB PSS); traffic_rps and traffic_idle its
// load.
package main
