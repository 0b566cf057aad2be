package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/tui"
)

// alertLister is what a monitoring source offers for alerts.
type alertLister interface {
	Describe(ctx context.Context) (sdk.MonitoringCapabilities, error)
	Alerts(ctx context.Context, req sdk.AlertsRequest) ([]sdk.Alert, error)
}

// pluginAlerts are the firing alerts of every configured monitoring source
// whose Describe says it serves alerts (the prometheus plugin with an
// alertmanager_url). It is the engine's Alerts port, and the console's
// alert line.
//
// An alert concerns a step when its labels name the step's service
// (label "service") and, where they name an environment ("env" or
// "environment") or a region ("region"), the step's too; an alert
// without those labels concerns every environment and region.
type pluginAlerts struct {
	names  []string
	source func(ctx context.Context, name string) (alertLister, error)

	mu      sync.Mutex
	capable map[string]bool // Describe's answer, asked once per source
}

var _ deploy.Alerts = (*pluginAlerts)(nil)

// alertSources returns the configured monitoring sources as an alert
// source, or nil when there is none.
func (a *app) alertSources(ctx context.Context) (*pluginAlerts, error) {
	h, err := a.pluginHost(ctx)
	if err != nil {
		return nil, err
	}
	a.alertsMu.Lock()
	defer a.alertsMu.Unlock()
	if a.alerts != nil && a.alertsHost == h {
		return a.alerts, nil // one per host: Describe is asked once
	}
	var names []string
	for _, p := range h.Config().Plugins {
		for _, k := range p.Kinds {
			if k == sdk.KindMonitoringSource {
				names = append(names, p.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	a.alerts = newPluginAlerts(names, func(ctx context.Context, name string) (alertLister, error) {
		return h.MonitoringSource(ctx, name)
	})
	a.alertsHost = h
	return a.alerts, nil
}

func newPluginAlerts(names []string, source func(ctx context.Context, name string) (alertLister, error)) *pluginAlerts {
	return &pluginAlerts{names: names, source: source, capable: map[string]bool{}}
}

// firing asks every alert-serving source for its firing alerts matching
// labels; known is false when no source serves alerts or none answered.
func (p *pluginAlerts) firing(ctx context.Context, labels map[string]string) (out []namedAlert, known bool, err error) {
	var errs []error
	for _, name := range p.names {
		src, err := p.source(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.mu.Lock()
		capable, asked := p.capable[name]
		p.mu.Unlock()
		if !asked {
			caps, err := src.Describe(ctx)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			capable = caps.Alerts
			p.mu.Lock()
			p.capable[name] = capable
			p.mu.Unlock()
		}
		if !capable {
			continue
		}
		as, err := src.Alerts(ctx, sdk.AlertsRequest{Labels: labels})
		if err != nil {
			errs = append(errs, fmt.Errorf("alerts of %s: %w", name, err))
			continue
		}
		known = true
		for _, a := range as {
			if a.State == "" || a.State == "firing" {
				out = append(out, namedAlert{source: name, Alert: a})
			}
		}
	}
	return out, known, errors.Join(errs...)
}

type namedAlert struct {
	source string
	sdk.Alert
}

func (a namedAlert) env() string {
	if e := a.Labels["env"]; e != "" {
		return e
	}
	return a.Labels["environment"]
}

// concerns reports whether the alert is about env and region (see the
// type's comment).
func (a namedAlert) concerns(env, region string) bool {
	if e := a.env(); e != "" && env != "" && e != env {
		return false
	}
	if r := a.Labels["region"]; r != "" && region != "" && r != region {
		return false
	}
	return true
}

// Firing implements deploy.Alerts.
func (p *pluginAlerts) Firing(ctx context.Context, service, env, region string) ([]deploy.Alert, error) {
	as, _, err := p.firing(ctx, map[string]string{"service": service})
	var out []deploy.Alert
	for _, a := range as {
		if a.concerns(env, region) {
			out = append(out, deploy.Alert{Name: a.Name, Severity: a.Severity, Labels: a.Labels})
		}
	}
	if len(out) > 0 {
		return out, nil // a firing alert counts even if another source failed
	}
	return nil, err
}

// forConsole is every firing alert, most severe first.
func (p *pluginAlerts) forConsole(ctx context.Context) ([]tui.Alert, bool) {
	as, known, _ := p.firing(ctx, nil)
	out := make([]tui.Alert, 0, len(as))
	for _, a := range as {
		summary := a.Annotations["summary"]
		if summary == "" {
			summary = a.Annotations["description"]
		}
		out = append(out, tui.Alert{Name: a.Name, Severity: a.Severity, Service: a.Labels["service"], Env: a.env(),
			Region: a.Labels["region"], Since: a.StartsAt, Source: a.source, Summary: summary})
	}
	sort.SliceStable(out, func(i, j int) bool { return severityRank(out[i].Severity) < severityRank(out[j].Severity) })
	return out, known
}

// severityRank orders severities, most severe first; unknown ones last.
func severityRank(s string) int {
	switch s {
	case "critical":
		return 0
	case "warning":
		return 1
	case "info":
		return 2
	}
	return 3
}
