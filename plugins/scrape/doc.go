// Command scrape is warroom's embedded default monitoring source: it
// scrapes Prometheus text-format endpoints (an instance's /metrics)
// itself, with nothing else to install, and turns a request counter and a
// duration histogram into per-cohort counts, rates and latency quantiles.
//
// # Settings
//
//	targets          NAME=URL[,NAME=URL...]; NAME is the cohort (baseline,
//	                 canary, payments@3.2.0, ...); NAME#N is instance N of
//	                 cohort NAME (the instances' counts are summed)
//	targets_file     a JSON file {"NAME": "URL" | ["URL", ...]} (relative to
//	                 the state dir), read again at every scrape so a fleet
//	                 can rewrite it; missing is fine (no targets yet)
//	interval         time between scrapes (1s)
//	slow_threshold   a request slower than this is slow (500ms); only
//	                 slow_requests depends on it
//	timeout          one scrape of one target (2s)
//	window           latency quantiles are over this last stretch (30s)
//	requests_metric  the request counter, labels service, version, code
//	                 (requests_total)
//	duration_metric  the duration histogram in seconds
//	                 (request_duration_seconds)
//
// Unknown settings are refused (CodeInvalid). The local fleet
// (plugins/localfleet) does not publish its instances' addresses (its
// endpoints.json lists the weighted proxies, and a proxy's /metrics would
// be a different instance each time), so targets come from settings.
//
// # Metrics
//
// Every series is labelled service and version (from the exposition's
// labels) and cohort (the target's name): requests, errors (code >= 500),
// slow_requests (counters); requests_per_second, errors_per_second,
// slow_requests_per_second (increase since the previous scrape per
// second); latency_p50, latency_p99 (seconds); latency_bucket, the
// duration histogram itself: one series per bucket upper bound, labelled
// also le (seconds, "+Inf" for the last), whose value is the requests at
// or below le (cumulative over buckets, as Prometheus' le series, and
// over time, as the other counters). The canary judge compares the two
// cohorts' latency distributions from latency_bucket (warroom carries it
// onto a fixed layout of 20 buckets per decade from 1 ms to 10 s); the
// fixed cutoff of slow_requests is then only one input of a source,
// used by the judge when a source has no histograms.
//
// A round of scrapes that did not reach every target of a cohort
// publishes no point for that cohort: the sum of the targets that
// answered would look like a drop in its traffic. Their answers still
// count, and the next complete round publishes the whole sum.
//
// Counters are cumulative since each target's process started, summed
// over a cohort's targets; a target whose counters go down restarted, and
// everything it then shows counts as new, so a cohort's counters never go
// down.
//
// Histograms: VictoriaMetrics/metrics' vmrange buckets
// (`_bucket{vmrange="1.000e-02...1.136e-02"}`, counts per range) and
// classic cumulative `le` buckets (turned into ranges (0, le1], (le1,
// le2], ... (leN, +Inf]) are both read, with or without `# TYPE` lines.
// slow_requests counts every bucket entirely above slow_threshold whole
// and the bucket holding it for the fraction of its width above it
// (observations assumed spread evenly: linear interpolation); a bucket
// with no upper bound that holds the threshold counts whole. Quantiles are
// those of the bucket counts' increase over the last `window` (before a
// window has passed, of everything counted so far), interpolated linearly
// within the bucket holding the rank, as PromQL's histogram_quantile; in
// an open-ended bucket, its finite bound. No requests in the window: no
// quantile sample.
//
// Query answers from memory: the last 3600 points per series (an hour at
// 1s; 300 for latency_bucket, whose series are many), filtered by service,
// version, cohort and le labels; with a Step, the last point of each
// step. Series come sorted by cohort, service and version, a cohort's
// buckets in ascending order of le. Watch streams every scrape's points (at the
// scrape interval, starting with the latest kept point of each matching
// series). There are no alerts (an empty list) and no logs
// (CodeUnimplemented).
package main
