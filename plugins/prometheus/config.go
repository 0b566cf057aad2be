package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

var settingSpecs = []sdk.SettingSpec{
	{Name: "url", Description: "base URL of the Prometheus HTTP API (Prometheus or VictoriaMetrics), e.g. http://127.0.0.1:8428", Required: true},
	{Name: "alertmanager_url", Description: "base URL of Alertmanager (API v2), e.g. http://127.0.0.1:9093; without it Alerts is unimplemented"},
	{Name: "timeout", Description: "time one API call may take", Default: "5s"},
	{Name: "metrics", Description: "PromQL templates per metric, NAME=TEMPLATE;NAME=TEMPLATE; they replace the defaults of the same name"},
	{Name: "metrics_file", Description: "a JSON file {\"NAME\": \"TEMPLATE\"}, relative to the state dir; its templates replace the defaults of the same name"},
	{Name: "only_configured", Description: "true: serve only the metrics of `metrics` and `metrics_file`, not the defaults", Default: "false"},
	{Name: "window", Description: "the value of {{.window}} in templates (a PromQL duration)", Default: "1m"},
	{Name: "step", Description: "query_range step when the request has none", Default: "15s"},
	{Name: "range", Description: "how far back a Query without a start goes", Default: "1h"},
	{Name: "interval", Description: "Watch polling interval when the request has none", Default: "5s"},
}

// defaultTemplates fit cmd/demo-service: requests_total{service,version,code}
// and request_duration_seconds{service,version}, a VictoriaMetrics
// histogram (vmrange buckets; histogram_quantile by le works too for a
// Prometheus histogram). {{.matchers}} is the request's labels as PromQL
// matchers; {{.window}} the window setting; {{.NAME}} a request label's
// value, escaped for a PromQL string.
var defaultTemplates = map[string]string{
	"requests":            `sum by (service, version) (increase(requests_total{ {{- .matchers -}} }[{{.window}}]))`,
	"errors":              `sum by (service, version) (increase(requests_total{code=~"5.."{{with .matchers}},{{.}}{{end}}}[{{.window}}]))`,
	"requests_per_second": `sum by (service, version) (rate(requests_total{ {{- .matchers -}} }[{{.window}}]))`,
	"errors_per_second":   `sum by (service, version) (rate(requests_total{code=~"5.."{{with .matchers}},{{.}}{{end}}}[{{.window}}]))`,
	"error_ratio": `(sum by (service, version) (rate(requests_total{code=~"5.."{{with .matchers}},{{.}}{{end}}}[{{.window}}]))` +
		` or (sum by (service, version) (rate(requests_total{ {{- .matchers -}} }[{{.window}}])) * 0))` +
		` / sum by (service, version) (rate(requests_total{ {{- .matchers -}} }[{{.window}}]))`,
	"latency_p50": `histogram_quantile(0.5, sum by (service, version, vmrange, le) (rate(request_duration_seconds_bucket{ {{- .matchers -}} }[{{.window}}])))`,
	"latency_p99": `histogram_quantile(0.99, sum by (service, version, vmrange, le) (rate(request_duration_seconds_bucket{ {{- .matchers -}} }[{{.window}}])))`,
}

var defaultDescriptors = map[string]sdk.MetricDescriptor{
	"requests":            {Kind: "counter", Description: "requests answered over the window (increase of requests_total)"},
	"errors":              {Kind: "counter", Description: "requests answered with a 5xx code over the window"},
	"requests_per_second": {Kind: "gauge", Unit: "1/s", Description: "request rate over the window"},
	"errors_per_second":   {Kind: "gauge", Unit: "1/s", Description: "5xx rate over the window"},
	"error_ratio":         {Kind: "gauge", Description: "5xx share of requests over the window (0 when there are requests and no errors)"},
	"latency_p50":         {Kind: "quantile", Unit: "s", Description: "median request duration over the window, from the histogram"},
	"latency_p99":         {Kind: "quantile", Unit: "s", Description: "99th percentile request duration over the window, from the histogram"},
}

type metricDef struct {
	name string
	text string
	tmpl *template.Template
}

type config struct {
	url, amURL          string
	timeout             time.Duration
	window              string
	step, rng, interval time.Duration
	metrics             map[string]*metricDef
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.:-]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

func parseConfig(cfg sdk.Config) (config, error) {
	get, err := sdk.ReadSettings(cfg, settingSpecs)
	if err != nil {
		return config{}, err
	}
	c := config{window: get("window"), metrics: map[string]*metricDef{}}
	if c.url, err = baseURL("url", get("url"), true); err != nil {
		return config{}, err
	}
	if c.amURL, err = baseURL("alertmanager_url", get("alertmanager_url"), false); err != nil {
		return config{}, err
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"timeout", &c.timeout}, {"step", &c.step}, {"range", &c.rng}, {"interval", &c.interval}} {
		v, err := time.ParseDuration(get(d.name))
		if err != nil || v <= 0 {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "setting %s: want a positive duration, got %q", d.name, get(d.name))
		}
		*d.to = v
	}
	if !regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`).MatchString(c.window) {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "setting window: want a PromQL duration such as 1m, got %q", c.window)
	}
	only := get("only_configured")
	if only != "true" && only != "false" {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "setting only_configured: want true or false, got %q", only)
	}
	templates := map[string]string{}
	if only == "false" {
		for k, v := range defaultTemplates {
			templates[k] = v
		}
	}
	if f := get("metrics_file"); f != "" {
		if !filepath.IsAbs(f) && cfg.StateDir != "" {
			f = filepath.Join(cfg.StateDir, f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "setting metrics_file: %v", err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "setting metrics_file: %s: want {\"NAME\": \"TEMPLATE\"}: %v", f, err)
		}
		for k, v := range m {
			templates[k] = v
		}
	}
	if s := get("metrics"); s != "" {
		for _, entry := range strings.Split(s, ";") {
			if strings.TrimSpace(entry) == "" {
				continue
			}
			name, text, ok := strings.Cut(entry, "=")
			if !ok || strings.TrimSpace(text) == "" {
				return config{}, sdk.Errorf(sdk.CodeInvalid, "setting metrics: want NAME=TEMPLATE, got %q", entry)
			}
			templates[strings.TrimSpace(name)] = strings.TrimSpace(text)
		}
	}
	if len(templates) == 0 {
		return config{}, sdk.Errorf(sdk.CodeInvalid, "no metrics: set metrics or metrics_file")
	}
	for name, text := range templates {
		if !metricNameRE.MatchString(name) {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "metric name %q: want letters, digits, _ . : -", name)
		}
		t, err := template.New(name).Option("missingkey=zero").Parse(text)
		if err != nil {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "metric %s: template: %v", name, err)
		}
		// Render once with no labels so a template that cannot run fails now.
		if _, err := render(t, c.window, nil); err != nil {
			return config{}, sdk.Errorf(sdk.CodeInvalid, "metric %s: template: %v", name, err)
		}
		c.metrics[name] = &metricDef{name: name, text: text, tmpl: t}
	}
	return c, nil
}

func baseURL(setting, v string, required bool) (string, error) {
	if v == "" {
		if required {
			return "", sdk.Errorf(sdk.CodeInvalid, "setting %s is required", setting)
		}
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", sdk.Errorf(sdk.CodeInvalid, "setting %s: want http(s)://HOST:PORT[/PATH], got %q", setting, v)
	}
	return strings.TrimRight(v, "/"), nil
}

// promString escapes a value for the inside of a double-quoted PromQL
// string.
func promString(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return r.Replace(v)
}

// render runs a metric's template with the request's labels: each label
// by name (escaped), "matchers" (all of them as name="value", sorted,
// comma-separated) and "window".
func render(t *template.Template, window string, labels map[string]string) (string, error) {
	data := map[string]string{}
	names := make([]string, 0, len(labels))
	for k := range labels {
		if !labelNameRE.MatchString(k) {
			return "", sdk.Errorf(sdk.CodeInvalid, "label name %q is not a Prometheus label name", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var ms []string
	for _, k := range names {
		data[k] = promString(labels[k])
		ms = append(ms, fmt.Sprintf(`%s="%s"`, k, promString(labels[k])))
	}
	data["matchers"] = strings.Join(ms, ",")
	data["window"] = window
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", sdk.Errorf(sdk.CodeInvalid, "template %s: %v", t.Name(), err)
	}
	return b.String(), nil
}
