package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

type fakeAlerts struct {
	capable   bool
	alerts    []sdk.Alert
	err       error
	described int
	asked     []map[string]string
}

func (f *fakeAlerts) Describe(context.Context) (sdk.MonitoringCapabilities, error) {
	f.described++
	return sdk.MonitoringCapabilities{Alerts: f.capable}, nil
}

func (f *fakeAlerts) Alerts(_ context.Context, req sdk.AlertsRequest) ([]sdk.Alert, error) {
	f.asked = append(f.asked, req.Labels)
	var out []sdk.Alert
	for _, a := range f.alerts {
		if s := req.Labels["service"]; s != "" && a.Labels["service"] != s {
			continue
		}
		out = append(out, a)
	}
	return out, f.err
}

func TestPluginAlerts(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	am := &fakeAlerts{capable: true, alerts: []sdk.Alert{
		{Name: "HighErrorRate", State: "firing", Severity: "warning", Labels: map[string]string{"service": "checkout", "env": "prod", "region": "eu-west"}, StartsAt: t0},
		{Name: "CheckoutDown", State: "firing", Severity: "critical", Labels: map[string]string{"service": "checkout"}, StartsAt: t0,
			Annotations: map[string]string{"summary": "no checkout instance answers"}},
		{Name: "Resolved", State: "resolved", Labels: map[string]string{"service": "checkout"}},
		{Name: "StagingOnly", State: "firing", Labels: map[string]string{"service": "checkout", "environment": "staging"}},
	}}
	scrape := &fakeAlerts{capable: false}
	sources := map[string]alertLister{"scrape": scrape, "prometheus": am}
	p := newPluginAlerts([]string{"scrape", "prometheus"}, func(_ context.Context, n string) (alertLister, error) { return sources[n], nil })
	ctx := context.Background()

	for _, tc := range []struct {
		env, region string
		want        []string
	}{
		{"prod", "eu-west", []string{"HighErrorRate", "CheckoutDown"}},
		{"prod", "us-east", []string{"CheckoutDown"}},
		{"staging", "", []string{"CheckoutDown", "StagingOnly"}},
	} {
		got, err := p.Firing(ctx, "checkout", tc.env, tc.region)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range got {
			names = append(names, a.Name)
		}
		if len(names) != len(tc.want) {
			t.Errorf("%s/%s: %v, want %v", tc.env, tc.region, names, tc.want)
			continue
		}
		for i := range names {
			if names[i] != tc.want[i] {
				t.Errorf("%s/%s: %v, want %v", tc.env, tc.region, names, tc.want)
			}
		}
	}
	if got, _ := p.Firing(ctx, "payments", "prod", ""); len(got) != 0 {
		t.Errorf("payments: %v", got)
	}
	if am.described != 1 || scrape.described != 1 || len(scrape.asked) != 0 {
		t.Errorf("Describe asked %d and %d times, a source without alerts asked %d times", am.described, scrape.described, len(scrape.asked))
	}

	// The console: every firing alert, the most severe first, with its summary.
	all, known := p.forConsole(ctx)
	if !known || len(all) != 3 || all[0].Name != "CheckoutDown" || all[0].Summary != "no checkout instance answers" ||
		all[0].Source != "prometheus" || all[1].Env != "prod" || all[2].Env != "staging" {
		t.Errorf("console alerts %+v known %v", all, known)
	}

	// A failing source is an error for the engine (which treats it as no
	// alert), and the console does not claim "none firing".
	am.err, am.alerts = errors.New("alertmanager down"), nil
	if _, err := p.Firing(ctx, "checkout", "prod", ""); err == nil {
		t.Error("no error from a failing source")
	}
	if _, known := p.forConsole(ctx); known {
		t.Error("alerts known with the only source failing")
	}
	// No source serves alerts: unknown.
	q := newPluginAlerts([]string{"scrape"}, func(_ context.Context, n string) (alertLister, error) { return scrape, nil })
	if _, known := q.forConsole(ctx); known {
		t.Error("alerts known without an alert source")
	}
}
