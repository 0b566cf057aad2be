package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// ringSize bounds the points kept per series: an hour at the default 1s
// interval. The latency_bucket series, one per bucket of every cohort,
// keep bucketRingSize: the judge reads their latest points, and an hour
// of each would cost megabytes per cohort.
const (
	ringSize       = 3600
	bucketRingSize = 300
)

var descriptors = []sdk.MetricDescriptor{
	{Name: "requests", Kind: "counter", Labels: labelNames, Description: "requests answered, from the request counter (all codes)"},
	{Name: "errors", Kind: "counter", Labels: labelNames, Description: "requests answered with a code >= 500"},
	{Name: "slow_requests", Kind: "counter", Labels: labelNames, Description: "requests slower than slow_threshold, from the duration histogram's buckets (the bucket holding the threshold interpolated linearly)"},
	{Name: "requests_per_second", Kind: "gauge", Unit: "1/s", Labels: labelNames, Description: "increase of requests since the previous scrape, per second"},
	{Name: "errors_per_second", Kind: "gauge", Unit: "1/s", Labels: labelNames, Description: "increase of errors since the previous scrape, per second"},
	{Name: "slow_requests_per_second", Kind: "gauge", Unit: "1/s", Labels: labelNames, Description: "increase of slow_requests since the previous scrape, per second"},
	{Name: "latency_p50", Kind: "quantile", Unit: "s", Labels: labelNames, Description: "median request duration over the last `window`, from the histogram"},
	{Name: "latency_p99", Kind: "quantile", Unit: "s", Labels: labelNames, Description: "99th percentile request duration over the last `window`, from the histogram"},
	{Name: "latency_bucket", Kind: "counter", Labels: bucketLabelNames, Description: "requests that took at most `le` seconds (cumulative over buckets, as Prometheus' le series, and over time), one series per bucket upper bound of the duration histogram, the last le=\"+Inf\": the latency distribution the canary judge compares"},
}

var bucketLabelNames = []string{"service", "version", "cohort", "le"}

var labelNames = []string{"service", "version", "cohort"}

// cohortKey names the series of one cohort's service version.
type cohortKey struct{ Cohort, Service, Version string }

func (k cohortKey) labels() map[string]string {
	return map[string]string{"service": k.Service, "version": k.Version, "cohort": k.Cohort}
}

// cohortState is the cumulative counts of one cohortKey, summed over its
// targets, reset-corrected.
type cohortState struct {
	requests, errors float64
	buckets          map[bucket]float64
	prev             struct {
		t                      int64
		requests, errors, slow float64
		ok                     bool
	}
	snaps []snap // cumulative buckets at past scrapes, for windowed quantiles
}

type snap struct {
	t       int64
	buckets map[bucket]float64
}

// point is one sample of one series.
type point struct {
	metric string
	key    cohortKey
	t      int64
	v      float64
	le     string // latency_bucket's bucket upper bound; "" for the others
}

func (p point) id() seriesID { return seriesID{p.metric, p.key, p.le} }

type ring struct {
	pts []sdk.Point // at most size, oldest first
}

func (r *ring) add(p sdk.Point, size int) {
	if len(r.pts) >= size {
		copy(r.pts, r.pts[len(r.pts)-size+1:])
		r.pts = r.pts[:size-1]
	}
	r.pts = append(r.pts, p)
}

type seriesID struct {
	metric string
	key    cohortKey
	le     string
}

// labels are the series' labels: the cohort's, and le for a bucket.
func (id seriesID) labels() map[string]string {
	l := id.key.labels()
	if id.le != "" {
		l["le"] = id.le
	}
	return l
}

// formatLE writes a bucket bound as Prometheus does: shortest form,
// "+Inf" for the open bucket.
func formatLE(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// cumulativeBuckets turns a cohort's per-range counts into Prometheus'
// le form: for each distinct upper bound, ascending, the requests at or
// below it.
func cumulativeBuckets(h map[bucket]float64) (bounds, cum []float64) {
	per := map[float64]float64{}
	for b, n := range h {
		per[b.Hi] += n
	}
	bounds = make([]float64, 0, len(per))
	for hi := range per {
		bounds = append(bounds, hi)
	}
	sort.Float64s(bounds)
	cum = make([]float64, len(bounds))
	var run float64
	for i, hi := range bounds {
		run += per[hi]
		cum[i] = run
	}
	return bounds, cum
}

// source is the MonitoringSource.
type source struct {
	client *http.Client
	parser parser
	now    func() time.Time

	cfgMu  sync.Mutex
	cfg    config
	cancel context.CancelFunc

	scrapeMu sync.Mutex // one scrape at a time

	mu      sync.Mutex
	last    map[target]map[seriesKey]*raw // previous scrape per target
	cohorts map[cohortKey]*cohortState
	rings   map[seriesID]*ring
	subs    map[chan []point]struct{}
	errs    map[target]string // last scrape error per target
}

func newSource() *source {
	return &source{
		// One idle connection kept per target, however many targets: the
		// default transport keeps 100 in all, and a fleet of more
		// instances than that opened a connection per scrape.
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: 0, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		}},
		now:     time.Now,
		last:    map[target]map[seriesKey]*raw{},
		cohorts: map[cohortKey]*cohortState{},
		rings:   map[seriesID]*ring{},
		subs:    map[chan []point]struct{}{},
		errs:    map[target]string{},
	}
}

// Configure applies settings and (re)starts the background scraper.
func (s *source) Configure(_ context.Context, c sdk.Config) error {
	cfg, err := parseConfig(c)
	if err != nil {
		return err
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	s.cfg = cfg
	s.parser = expfmtParser{names: cfg.names}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.loop(ctx, cfg.interval)
	return nil
}

func (s *source) config() config {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.cfg
}

func (s *source) loop(ctx context.Context, every time.Duration) {
	s.scrapeOnce(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.scrapeOnce(ctx)
		}
	}
}

// targets is the configured targets plus those of the targets file as it
// is now (a file that is missing or broken adds none, and says so).
func (s *source) targets(cfg config) ([]target, error) {
	out := slices.Clone(cfg.targets)
	if cfg.targetsFile == "" {
		return out, nil
	}
	ts, err := readTargetsFile(cfg.targetsFile)
	if err != nil && !os.IsNotExist(err) {
		return out, err
	}
	return append(out, ts...), nil
}

// scrapeOnce scrapes every target (concurrently, each within the
// timeout), folds the results into the cohorts' counts and publishes one
// sample per series.
func (s *source) scrapeOnce(ctx context.Context) {
	s.scrapeMu.Lock()
	defer s.scrapeMu.Unlock()
	cfg := s.config()
	ts, ferr := s.targets(cfg)
	type result struct {
		t   target
		got map[seriesKey]*raw
		err error
	}
	results := make([]result, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.fetch(ctx, cfg, t)
			results[i] = result{t, got, err}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	now := s.now().UnixMilli()

	s.mu.Lock()
	if ferr != nil {
		s.errs[target{Name: "targets_file"}] = ferr.Error()
	}
	touched := map[cohortKey]bool{}
	// A cohort some of whose targets did not answer this round gets no
	// point for it: the sum of the others would look like a drop in its
	// traffic (to a canary judge, a traffic split the weights did not ask
	// for). Its counters still take the answers in, and the next round
	// that reaches every target publishes them whole.
	partial := map[string]bool{}
	for _, r := range results {
		if r.err != nil {
			partial[r.t.cohort()] = true
		}
	}
	for _, r := range results {
		if r.err != nil {
			s.errs[r.t] = r.err.Error()
			continue
		}
		delete(s.errs, r.t)
		prev := s.last[r.t]
		for sk, cur := range r.got {
			k := cohortKey{Cohort: r.t.cohort(), Service: sk.Service, Version: sk.Version}
			c := s.cohorts[k]
			if c == nil {
				c = &cohortState{buckets: map[bucket]float64{}}
				s.cohorts[k] = c
			}
			old := prev[sk]
			if old == nil || reset(old, cur) {
				// First sight, or the process restarted: everything it
				// counts is new.
				old = &raw{}
			}
			c.requests += max(cur.Requests-old.Requests, 0)
			c.errors += max(cur.Errors-old.Errors, 0)
			for b, n := range cur.Buckets {
				c.buckets[b] += max(n-old.Buckets[b], 0)
			}
			if !partial[k.Cohort] {
				touched[k] = true
			}
		}
		s.last[r.t] = r.got
	}
	var batch []point
	threshold := cfg.slowThreshold.Seconds()
	for k := range touched {
		c := s.cohorts[k]
		slow := slowCount(c.buckets, threshold)
		batch = append(batch,
			point{"requests", k, now, c.requests, ""},
			point{"errors", k, now, c.errors, ""},
			point{"slow_requests", k, now, slow, ""})
		if c.prev.ok && now > c.prev.t {
			dt := float64(now-c.prev.t) / 1000
			batch = append(batch,
				point{"requests_per_second", k, now, (c.requests - c.prev.requests) / dt, ""},
				point{"errors_per_second", k, now, (c.errors - c.prev.errors) / dt, ""},
				point{"slow_requests_per_second", k, now, (slow - c.prev.slow) / dt, ""})
		}
		c.prev.t, c.prev.requests, c.prev.errors, c.prev.slow, c.prev.ok = now, c.requests, c.errors, slow, true

		// Windowed quantiles: the increase since the last snapshot at least
		// `window` old; before there is one, everything counted so far.
		var base map[bucket]float64
		cut := now - cfg.window.Milliseconds()
		drop := 0
		for i, sn := range c.snaps {
			if sn.t <= cut {
				base, drop = sn.buckets, i
			}
		}
		c.snaps = append(c.snaps[drop:], snap{now, maps.Clone(c.buckets)})
		w := sub(c.buckets, base)
		if q := quantile(w, 0.5); !math.IsNaN(q) {
			batch = append(batch, point{"latency_p50", k, now, q, ""})
		}
		if q := quantile(w, 0.99); !math.IsNaN(q) {
			batch = append(batch, point{"latency_p99", k, now, q, ""})
		}
		bounds, cum := cumulativeBuckets(c.buckets)
		for i, hi := range bounds {
			batch = append(batch, point{"latency_bucket", k, now, cum[i], formatLE(hi)})
		}
	}
	sort.SliceStable(batch, func(i, j int) bool { return less(batch[i], batch[j]) })
	for _, p := range batch {
		id := p.id()
		r := s.rings[id]
		if r == nil {
			r = &ring{}
			s.rings[id] = r
		}
		size := ringSize
		if p.metric == "latency_bucket" {
			size = bucketRingSize
		}
		r.add(sdk.Point{T: p.t, V: p.v}, size)
	}
	if len(batch) > 0 {
		for ch := range s.subs {
			select {
			case ch <- batch:
			default: // a slow watcher misses a round; counters catch up next time
			}
		}
	}
	s.mu.Unlock()
}

func less(a, b point) bool {
	if a.key != b.key {
		return fmt.Sprint(a.key) < fmt.Sprint(b.key)
	}
	return a.metric < b.metric // a batch's buckets stay in ascending le order (stable sort)
}

// reset says a target's counters went down: its process restarted.
func reset(old, cur *raw) bool {
	if cur.Requests < old.Requests || cur.Errors < old.Errors {
		return true
	}
	for b, n := range old.Buckets {
		if cur.Buckets[b] < n {
			return true
		}
	}
	return false
}

func (s *source) fetch(ctx context.Context, cfg config, t target) (map[seriesKey]*raw, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil, fmt.Errorf("%s: %s", t.URL, resp.Status)
	}
	got, err := s.parser.Parse(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", t.URL, err)
	}
	return got, nil
}

// ---- sdk.MonitoringSource ----

func (s *source) Describe(context.Context) (sdk.MonitoringCapabilities, error) {
	return sdk.MonitoringCapabilities{Metrics: slices.Clone(descriptors), Watch: true}, nil
}

func known(metric string) bool {
	return slices.ContainsFunc(descriptors, func(d sdk.MetricDescriptor) bool { return d.Name == metric })
}

func matches(id seriesID, want map[string]string) bool {
	l := id.labels()
	for name, v := range want {
		if got, ok := l[name]; !ok || got != v {
			return false
		}
	}
	return true
}

// Query answers from the points kept in memory: those of [Start, End]
// (an unset bound is open); with a Step, the last point of each step.
func (s *source) Query(_ context.Context, req sdk.QueryRequest) ([]sdk.Series, error) {
	if !known(req.Metric) {
		return nil, sdk.Errorf(sdk.CodeInvalid, "unknown metric %q", req.Metric)
	}
	start, end := int64(math.MinInt64), int64(math.MaxInt64)
	if !req.Start.IsZero() {
		start = req.Start.UnixMilli()
	}
	if !req.End.IsZero() {
		end = req.End.UnixMilli()
	}
	if end < start {
		return nil, sdk.Errorf(sdk.CodeInvalid, "query ends before it starts")
	}
	step := req.Step.Milliseconds()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sdk.Series
	for id, r := range s.rings {
		if id.metric != req.Metric || !matches(id, req.Labels) {
			continue
		}
		var pts []sdk.Point
		for _, p := range r.pts {
			if p.T < start || p.T > end {
				continue
			}
			if step > 0 && len(pts) > 0 && (pts[len(pts)-1].T-start)/step == (p.T-start)/step {
				pts[len(pts)-1] = p
				continue
			}
			pts = append(pts, p)
		}
		if len(pts) > 0 {
			out = append(out, sdk.Series{Metric: id.metric, Labels: id.labels(), Points: pts})
		}
	}
	// By cohort, service and version, then a cohort's buckets in
	// ascending order of le.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Labels, out[j].Labels
		for _, l := range []string{"cohort", "service", "version"} {
			if a[l] != b[l] {
				return a[l] < b[l]
			}
		}
		return leValue(a["le"]) < leValue(b["le"])
	})
	return out, nil
}

// Watch streams the points of every scrape (at the scrape interval; the
// request's Interval is not used) of the metrics asked for (all when
// none), filtered by labels. It starts with the latest kept point of each
// matching series.
func (s *source) Watch(ctx context.Context, req sdk.WatchRequest, w sdk.SampleWriter) error {
	for _, m := range req.Metrics {
		if !known(m) {
			return sdk.Errorf(sdk.CodeInvalid, "unknown metric %q", m)
		}
	}
	want := func(p point) bool {
		return (len(req.Metrics) == 0 || slices.Contains(req.Metrics, p.metric)) && matches(p.id(), req.Labels)
	}
	ch := make(chan []point, 64)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	var first []point
	for id, r := range s.rings {
		if n := len(r.pts); n > 0 {
			first = append(first, point{id.metric, id.key, r.pts[n-1].T, r.pts[n-1].V, id.le})
		}
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	sort.Slice(first, func(i, j int) bool { return less(first[i], first[j]) })

	ids := map[seriesID]sdk.SeriesID{}
	write := func(batch []point) error {
		n := 0
		for _, p := range batch {
			if !want(p) {
				continue
			}
			sid := p.id()
			id, ok := ids[sid]
			if !ok {
				id = w.Series(p.metric, sid.labels())
				ids[sid] = id
			}
			if err := w.Write(id, p.t, p.v); err != nil {
				return err
			}
			n++
		}
		if n > 0 {
			return w.Flush()
		}
		return nil
	}
	if err := write(first); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case batch := <-ch:
			if err := write(batch); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

func (s *source) Alerts(context.Context, sdk.AlertsRequest) ([]sdk.Alert, error) {
	return []sdk.Alert{}, nil
}

func (s *source) Logs(context.Context, sdk.LogsRequest) (sdk.LogsResult, error) {
	return sdk.LogsResult{}, sdk.Errorf(sdk.CodeUnimplemented, "the scrape source has no logs")
}

// leValue reads an le label ("+Inf" included) for sorting.
func leValue(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.Inf(1)
	}
	return v
}
