// Command prometheus is a warroom monitoring-source plugin over the
// Prometheus HTTP API (Prometheus, VictoriaMetrics) and, for alerts,
// Alertmanager's API v2.
//
// Every warroom metric is a PromQL template (text/template) rendered with
// the request's labels; see config.go for the settings and the default
// templates, which fit cmd/demo-service's requests_total and
// request_duration_seconds (a VictoriaMetrics vmrange histogram).
package main

import "github.com/warroom/warroom/plugins/sdk"

// version is the plugin's own version.
const version = "0.1.0"

func main() {
	s := newSource()
	sdk.Serve(sdk.Plugin{
		Name:             "prometheus",
		Version:          version,
		Description:      "Metrics from the Prometheus HTTP API (Prometheus, VictoriaMetrics) through PromQL templates; alerts from Alertmanager.",
		Settings:         settingSpecs,
		Configure:        s.Configure,
		MonitoringSource: s,
	})
}
