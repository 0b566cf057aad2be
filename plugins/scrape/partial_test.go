package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/warroom/warroom/plugins/sdk"
)

// A cohort whose targets did not all answer a scrape gets no point for
// that round (half its instances would look like half its traffic); the
// next round that reaches them all publishes the whole sum.
func TestPartialScrapePublishesNothingForTheCohort(t *testing.T) {
	var requests atomic.Int64
	var down atomic.Bool
	exposition := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "requests_total{service=\"payments\",version=\"3.2.0\",code=\"200\"} %d\n", requests.Load())
	}
	up := httptest.NewServer(http.HandlerFunc(exposition))
	defer up.Close()
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		exposition(w, r)
	}))
	defer flaky.Close()
	// Configured by hand, without Configure's background scraper: the
	// test's scrapes are the only ones.
	cfg, err := parseConfig(sdk.Config{Settings: map[string]string{
		"targets": "canary#1=" + up.URL + ",canary#2=" + flaky.URL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := newSource()
	s.cfg, s.parser = cfg, expfmtParser{names: cfg.names}
	labels := map[string]string{"cohort": "canary"}
	requests.Store(10)
	s.scrapeOnce(context.Background())
	if got := last(t, s, "requests", labels); got != 20 {
		t.Fatalf("both up: %v requests, want 20", got)
	}
	down.Store(true)
	requests.Store(15)
	s.scrapeOnce(context.Background())
	series, err := s.Query(context.Background(), sdk.QueryRequest{Metric: "requests", Labels: labels})
	if err != nil || len(series) != 1 || len(series[0].Points) != 1 {
		t.Fatalf("a round with one target down published a point: %+v %v", series, err)
	}
	down.Store(false)
	s.scrapeOnce(context.Background())
	if got := last(t, s, "requests", labels); got != 30 {
		t.Errorf("both up again: %v requests, want 30", got)
	}
}
