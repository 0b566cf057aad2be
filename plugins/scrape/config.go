package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

var settingSpecs = []sdk.SettingSpec{
	{Name: "targets", Description: "comma-separated NAME=URL scrape targets; NAME is the cohort (a `#N` suffix names an instance of it: baseline#1, baseline#2)"},
	{Name: "targets_file", Description: "a JSON file {\"NAME\": \"URL\" or [\"URL\", ...]}, relative to the state dir, read again at every scrape"},
	{Name: "interval", Description: "time between scrapes", Default: "1s"},
	{Name: "slow_threshold", Description: "a request slower than this is a slow request (the slow_requests metric; the canary judge compares latency_bucket histograms and uses slow_requests only from a source without them)", Default: "500ms"},
	{Name: "timeout", Description: "time one scrape of one target may take", Default: "2s"},
	{Name: "window", Description: "the latency quantiles are over the requests of this last stretch of time", Default: "30s"},
	{Name: "requests_metric", Description: "the request counter, labelled service, version, code", Default: "requests_total"},
	{Name: "duration_metric", Description: "the request duration histogram in seconds (vmrange or le buckets)", Default: "request_duration_seconds"},
}

// target is one scrape endpoint.
type target struct {
	Name string // as configured: cohort or cohort#instance
	URL  string
}

// cohort is the target's name without an instance suffix.
func (t target) cohort() string {
	c, _, _ := strings.Cut(t.Name, "#")
	return c
}

type config struct {
	targets       []target
	targetsFile   string
	interval      time.Duration
	slowThreshold time.Duration
	timeout       time.Duration
	window        time.Duration
	names         names
}

func parseConfig(cfg sdk.Config) (config, error) {
	get, err := sdk.ReadSettings(cfg, settingSpecs)
	if err != nil {
		return config{}, err
	}
	c := config{names: names{Requests: get("requests_metric"), Duration: get("duration_metric")}}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"interval", &c.interval}, {"slow_threshold", &c.slowThreshold}, {"timeout", &c.timeout}, {"window", &c.window}} {
		v, err := time.ParseDuration(get(d.name))
		if err != nil || v <= 0 {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "setting %s: want a positive duration, got %q", d.name, get(d.name))
		}
		*d.to = v
	}
	if s := get("targets"); s != "" {
		for _, entry := range strings.Split(s, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			name, url, ok := strings.Cut(entry, "=")
			t := target{strings.TrimSpace(name), strings.TrimSpace(url)}
			if !ok || t.Name == "" || !validURL(t.URL) {
				return config{}, sdk.Errorf(sdk.CodeInvalid, "setting targets: want NAME=http://HOST:PORT/PATH, got %q", entry)
			}
			c.targets = append(c.targets, t)
		}
	}
	if f := get("targets_file"); f != "" {
		if !filepath.IsAbs(f) && cfg.StateDir != "" {
			f = filepath.Join(cfg.StateDir, f)
		}
		c.targetsFile = f
		// A file that exists must parse now; one that does not may appear later.
		if _, err := readTargetsFile(f); err != nil && !os.IsNotExist(err) {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "setting targets_file: %v", err)
		}
	}
	return c, nil
}

func validURL(u string) bool {
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

// readTargetsFile reads {"name": "url" | ["url", ...]}; a name with
// several URLs gives targets name#1, name#2, ... of one cohort.
func readTargetsFile(path string) ([]target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var out []target
	for name, v := range m {
		var one string
		var many []string
		if json.Unmarshal(v, &one) == nil {
			many = []string{one}
		} else if err := json.Unmarshal(v, &many); err != nil {
			return nil, fmt.Errorf("%s: %q: want a URL or a list of URLs", path, name)
		}
		for i, u := range many {
			if !validURL(u) {
				return nil, fmt.Errorf("%s: %q: bad URL %q", path, name, u)
			}
			n := name
			if len(many) > 1 {
				n = fmt.Sprintf("%s#%d", name, i+1)
			}
			out = append(out, target{n, u})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
