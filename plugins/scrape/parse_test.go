package main

import (
	"math"
	"strings"
	"testing"
)

func TestParseVMRange(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi float64
		bad    bool
	}{
		{in: "1.000e-02...1.136e-02", lo: 0.01, hi: 0.01136},
		{in: "0...1.000e-09", lo: 0, hi: 1e-9},
		{in: "1.000e+18...+Inf", lo: 1e18, hi: math.Inf(1)},
		{in: "1.000e-02-1.136e-02", bad: true},
		{in: "x...1", bad: true},
		{in: "2...1", bad: true},
	} {
		b, err := parseVMRange(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if !c.bad && (b.Lo != c.lo || b.Hi != c.hi) {
			t.Errorf("%q = %+v, want (%v, %v]", c.in, b, c.lo, c.hi)
		}
	}
}

func TestLEBuckets(t *testing.T) {
	got := leBuckets(map[float64]float64{0.1: 3, 0.5: 7, 1: 7, math.Inf(1): 10})
	want := map[bucket]float64{
		{0, 0.1}:         3,
		{0.1, 0.5}:       4,
		{0.5, 1}:         0,
		{1, math.Inf(1)}: 3,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for b, n := range want {
		if got[b] != n {
			t.Errorf("bucket %v = %v, want %v (all %v)", b, got[b], n, got)
		}
	}
}

const vmExposition = `request_duration_seconds_bucket{service="payments",version="3.1.0",vmrange="1.000e-02...1.136e-02"} 4
request_duration_seconds_bucket{service="payments",version="3.1.0",vmrange="1.136e-02...1.292e-02"} 6
request_duration_seconds_bucket{service="payments",version="3.2.0",vmrange="5.995e-01...6.813e-01"} 2
request_duration_seconds_sum{service="payments",version="3.1.0"} 0.1
request_duration_seconds_count{service="payments",version="3.1.0"} 10
requests_total{service="payments",version="3.1.0",code="200"} 9
requests_total{service="payments",version="3.1.0",code="503"} 1
requests_total{service="payments",version="3.2.0",code="500"} 1
requests_total{service="payments",version="3.2.0",code="404"} 1
go_goroutines 7
`

// classic is a client_golang histogram, with metadata.
const classicExposition = `# HELP request_duration_seconds Request durations.
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{service="cart",version="1.0.0",le="0.1"} 5
request_duration_seconds_bucket{service="cart",version="1.0.0",le="0.5"} 8
request_duration_seconds_bucket{service="cart",version="1.0.0",le="+Inf"} 10
request_duration_seconds_sum{service="cart",version="1.0.0"} 3.2
request_duration_seconds_count{service="cart",version="1.0.0"} 10
# TYPE requests_total counter
requests_total{service="cart",version="1.0.0",code="200"} 10
`

func TestParseExpositions(t *testing.T) {
	p := expfmtParser{names: names{Requests: "requests_total", Duration: "request_duration_seconds"}}
	for _, c := range []struct {
		name, text   string
		key          seriesKey
		req, errs    float64
		buckets      map[bucket]float64
		slowAt, slow float64
	}{
		{
			name: "vmrange", text: vmExposition, key: seriesKey{"payments", "3.1.0"}, req: 10, errs: 1,
			buckets: map[bucket]float64{{0.01, 0.01136}: 4, {0.01136, 0.01292}: 6},
			slowAt:  0.01214, slow: 3, // half of the (1.136e-2, 1.292e-2] bucket
		},
		{
			name: "vmrange canary", text: vmExposition, key: seriesKey{"payments", "3.2.0"}, req: 2, errs: 1,
			buckets: map[bucket]float64{{0.5995, 0.6813}: 2}, slowAt: 0.5, slow: 2,
		},
		{
			name: "vmrange with metadata", text: "# TYPE request_duration_seconds histogram\n" + vmExposition,
			key: seriesKey{"payments", "3.2.0"}, req: 2, errs: 1,
			buckets: map[bucket]float64{{0.5995, 0.6813}: 2}, slowAt: 0.5, slow: 2,
		},
		{
			name: "le", text: classicExposition, key: seriesKey{"cart", "1.0.0"}, req: 10,
			buckets: map[bucket]float64{{0, 0.1}: 5, {0.1, 0.5}: 3, {0.5, math.Inf(1)}: 2},
			slowAt:  0.3, slow: 2 + 3*0.5,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Parse(strings.NewReader(c.text))
			if err != nil {
				t.Fatal(err)
			}
			r := got[c.key]
			if r == nil {
				t.Fatalf("no %v in %v", c.key, got)
			}
			if r.Requests != c.req || r.Errors != c.errs {
				t.Errorf("requests %v errors %v, want %v %v", r.Requests, r.Errors, c.req, c.errs)
			}
			if len(r.Buckets) != len(c.buckets) {
				t.Errorf("buckets %v, want %v", r.Buckets, c.buckets)
			}
			for b, n := range c.buckets {
				if math.Abs(r.Buckets[b]-n) > 1e-9 {
					t.Errorf("bucket %v = %v, want %v", b, r.Buckets[b], n)
				}
			}
			if s := slowCount(r.Buckets, c.slowAt); math.Abs(s-c.slow) > 1e-6 {
				t.Errorf("slow above %v = %v, want %v", c.slowAt, s, c.slow)
			}
		})
	}
	if _, err := p.Parse(strings.NewReader(`request_duration_seconds_bucket{vmrange="nonsense"} 1` + "\n")); err == nil {
		t.Error("a bad vmrange parsed")
	}
	if _, err := p.Parse(strings.NewReader("requests_total{code=\"200\" 1\n")); err == nil {
		t.Error("a broken exposition parsed")
	}
}

func TestSlowCountAndQuantile(t *testing.T) {
	h := map[bucket]float64{{0, 0.1}: 50, {0.1, 0.2}: 40, {0.2, 1}: 10}
	for _, c := range []struct {
		threshold, want float64
	}{{0, 100}, {0.1, 50}, {0.15, 30}, {0.2, 10}, {0.6, 5}, {1, 0}, {5, 0}} {
		if got := slowCount(h, c.threshold); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("slow above %v = %v, want %v", c.threshold, got, c.want)
		}
	}
	for _, c := range []struct {
		q, want float64
	}{{0.5, 0.1}, {0.25, 0.05}, {0.7, 0.15}, {0.95, 0.6}, {1, 1}} {
		if got := quantile(h, c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	inf := map[bucket]float64{{0, 0.5}: 1, {0.5, math.Inf(1)}: 1}
	if got := quantile(inf, 0.99); got != 0.5 {
		t.Errorf("quantile in the +Inf bucket = %v, want its lower bound 0.5", got)
	}
	if got := slowCount(inf, 0.7); got != 1 {
		t.Errorf("slow in the +Inf bucket = %v, want 1", got)
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
	if got := sub(h, map[bucket]float64{{0, 0.1}: 50, {0.1, 0.2}: 30}); len(got) != 2 || got[bucket{0.1, 0.2}] != 10 || got[bucket{0.2, 1}] != 10 {
		t.Errorf("sub = %v", got)
	}
}
