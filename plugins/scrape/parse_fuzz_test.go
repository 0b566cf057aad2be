package main

import (
	"math"
	"strings"
	"testing"
)

// FuzzParseExposition feeds the Prometheus text parser whatever a scraped
// target might serve: a broken or hostile exposition must give an error or
// counters the judge can use, never a panic and never a count that is
// negative, not finite, or an error count above its request count.
func FuzzParseExposition(f *testing.F) {
	for _, seed := range []string{
		vmExposition,
		classicExposition,
		"",
		"\n\n",
		"# TYPE requests_total counter\n",
		`requests_total{service="a",version="1",code="500"} NaN` + "\n",
		`requests_total{service="a",version="1",code="500"} +Inf` + "\n",
		`requests_total{service="a",version="1",code="200"} -5` + "\n",
		`requests_total{service="a",version="1",code="200"} 1e308` + "\n" + `requests_total{service="a",version="1",code="201"} 1e308` + "\n",
		`request_duration_seconds_bucket{service="a",version="1",le="NaN"} 3` + "\n",
		`request_duration_seconds_bucket{service="a",version="1",le="-1"} 3` + "\n",
		`request_duration_seconds_bucket{service="a",version="1",le="0.1"} 5` + "\n" + `request_duration_seconds_bucket{service="a",version="1",le="0.2"} 2` + "\n",
		`request_duration_seconds_bucket{service="a",version="1",vmrange="NaN...1"} 1` + "\n",
		`request_duration_seconds_bucket{service="a",version="1",vmrange="1...NaN"} 1` + "\n",
		`request_duration_seconds_bucket{service="a",version="1",vmrange="-Inf...+Inf"} 1` + "\n",
		`requests_total{code="200" 1` + "\n",
		"requests_total{service=\"\xff\xfe\"} 1\n",
		"requests_total " + strings.Repeat("9", 400) + "\n",
		strings.Repeat("requests_total{code=\"500\"} 1\n", 50),
		"requests_total{service=\"a\",service=\"b\"} 1\n",
		"\x00\x01\x02binary",
	} {
		f.Add(seed)
	}
	p := expfmtParser{names: names{Requests: "requests_total", Duration: "request_duration_seconds"}}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := p.Parse(strings.NewReader(text))
		if err != nil {
			return
		}
		for k, r := range got {
			usable := func(what string, v float64) {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("%v: %s = %v from %q", k, what, v, text)
				}
			}
			usable("requests", r.Requests)
			usable("errors", r.Errors)
			if r.Errors > r.Requests {
				t.Fatalf("%v: errors %v > requests %v from %q", k, r.Errors, r.Requests, text)
			}
			for b, n := range r.Buckets {
				usable("bucket count", n)
				if math.IsNaN(b.Lo) || math.IsNaN(b.Hi) || !(b.Lo <= b.Hi) {
					t.Fatalf("%v: bucket %v from %q", k, b, text)
				}
			}
		}
	})
}
