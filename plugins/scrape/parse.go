package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// seriesKey is a service version as the exposition labels it.
type seriesKey struct {
	Service string
	Version string
}

// bucket is one histogram range (Lo, Hi] with the number of observations
// in it (not cumulative).
type bucket struct {
	Lo, Hi float64
}

// raw is what one scrape of one target says about one service version:
// cumulative counters as exposed.
type raw struct {
	Requests float64
	Errors   float64
	Buckets  map[bucket]float64 // non-cumulative counts per range
}

// names are the exposition metric names the plugin reads.
type names struct {
	Requests string // a counter with a `code` label, e.g. requests_total
	Duration string // a histogram in seconds, e.g. request_duration_seconds
}

// parser turns one exposition into per-version counters.
type parser interface {
	Parse(r io.Reader) (map[seriesKey]*raw, error)
}

// expfmtParser parses the Prometheus text format with
// github.com/prometheus/common/expfmt.
//
// The `# TYPE` lines are dropped before parsing, so every family parses as
// untyped and histograms are read from their `_bucket` samples by name.
// That is what makes VictoriaMetrics/metrics' vmrange histograms work
// whether or not they are exposed with metadata: expfmt's histogram
// parser only knows `le` buckets and silently drops vmrange ones.
type expfmtParser struct{ names names }

func (p expfmtParser) Parse(r io.Reader) (map[seriesKey]*raw, error) {
	var filtered bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("# TYPE")) {
			continue
		}
		filtered.Write(line)
		filtered.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	families, err := textToFamilies(&filtered)
	if err != nil {
		return nil, err
	}
	out := map[seriesKey]*raw{}
	get := func(k seriesKey) *raw {
		r := out[k]
		if r == nil {
			r = &raw{Buckets: map[bucket]float64{}}
			out[k] = r
		}
		return r
	}
	if mf := families[p.names.Requests]; mf != nil {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			v := value(m.GetUntyped().GetValue(), m.GetCounter().GetValue())
			if err := countable(p.names.Requests, labels, v); err != nil {
				return nil, err
			}
			r := get(seriesKey{labels["service"], labels["version"]})
			r.Requests += v
			if code, err := strconv.Atoi(labels["code"]); err == nil && code >= 500 {
				r.Errors += v
			}
		}
	}
	if mf := families[p.names.Duration+"_bucket"]; mf != nil {
		// Classic buckets are cumulative: collect per series, then diff.
		cumulative := map[seriesKey]map[float64]float64{}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			k := seriesKey{labels["service"], labels["version"]}
			v := value(m.GetUntyped().GetValue(), m.GetCounter().GetValue())
			if err := countable(p.names.Duration+"_bucket", labels, v); err != nil {
				return nil, err
			}
			switch {
			case labels["vmrange"] != "":
				b, err := parseVMRange(labels["vmrange"])
				if err != nil {
					return nil, err
				}
				get(k).Buckets[b] += v
			case labels["le"] != "":
				le, err := strconv.ParseFloat(labels["le"], 64)
				if err != nil || math.IsNaN(le) {
					return nil, fmt.Errorf("%s_bucket: bad le %q", p.names.Duration, labels["le"])
				}
				if cumulative[k] == nil {
					cumulative[k] = map[float64]float64{}
				}
				cumulative[k][le] += v
			}
		}
		for k, cum := range cumulative {
			r := get(k)
			for b, n := range leBuckets(cum) {
				r.Buckets[b] += n
			}
		}
	}
	// Sums of finite counters can still overflow to +Inf: a judge fed an
	// infinite count would decide on nonsense, so the scrape fails instead.
	for k, r := range out {
		if math.IsInf(r.Requests, 0) {
			return nil, fmt.Errorf("%s for service %q version %q adds up to more than a float64 holds", p.names.Requests, k.Service, k.Version)
		}
		for b, n := range r.Buckets {
			if math.IsInf(n, 0) {
				return nil, fmt.Errorf("%s_bucket %v for service %q version %q adds up to more than a float64 holds", p.names.Duration, b, k.Service, k.Version)
			}
		}
	}
	return out, nil
}

// countable refuses a counter sample no counter can have: negative, NaN
// or infinite. The exposition format allows them, but a target that serves
// one is broken, and the scrape says so rather than feed the judge.
func countable(metric string, labels map[string]string, v float64) error {
	if v >= 0 && !math.IsInf(v, 0) {
		return nil
	}
	return fmt.Errorf("%s{service=%q,version=%q}: a counter cannot be %v", metric, labels["service"], labels["version"], v)
}

// textToFamilies runs expfmt's text parser on what a target served. The
// parser is the well-kept one, but its input is outside warroom's control
// (expfmt up to v0.62 panicked on a label set with no metric name, found
// by FuzzParseExposition): a panic there becomes this scrape's error
// instead of ending the plugin process.
func textToFamilies(r io.Reader) (families map[string]*dto.MetricFamily, err error) {
	defer func() {
		if p := recover(); p != nil {
			families, err = nil, fmt.Errorf("unreadable exposition (the text parser failed: %v)", p)
		}
	}()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	return tp.TextToMetricFamilies(r)
}

func value(untyped, counter float64) float64 {
	if untyped != 0 {
		return untyped
	}
	return counter
}

// parseVMRange parses a VictoriaMetrics/metrics bucket label,
// "1.000e-02...1.136e-02", into the range (lo, hi].
func parseVMRange(s string) (bucket, error) {
	lo, hi, ok := strings.Cut(s, "...")
	if !ok {
		return bucket{}, fmt.Errorf("bad vmrange %q", s)
	}
	l, err1 := strconv.ParseFloat(lo, 64)
	h, err2 := strconv.ParseFloat(hi, 64)
	if err1 != nil || err2 != nil || !(l <= h) {
		return bucket{}, fmt.Errorf("bad vmrange %q", s)
	}
	return bucket{l, h}, nil
}

// leBuckets turns classic cumulative `le` buckets into ranges: (0, le1],
// (le1, le2], ..., (leN, +Inf]. The first range starts at 0 (durations are
// not negative), or at -Inf when its bound is negative.
func leBuckets(cum map[float64]float64) map[bucket]float64 {
	les := make([]float64, 0, len(cum))
	for le := range cum {
		les = append(les, le)
	}
	sort.Float64s(les)
	out := map[bucket]float64{}
	lo, prev := 0.0, 0.0
	for i, le := range les {
		if i == 0 && le < 0 {
			lo = math.Inf(-1)
		}
		n := cum[le] - prev
		if n < 0 { // not monotonic: a torn scrape; count nothing
			n = 0
		}
		out[bucket{lo, le}] = n
		lo, prev = le, max(prev, cum[le])
	}
	return out
}
