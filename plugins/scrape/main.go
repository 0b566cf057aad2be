package main

import "github.com/warroom/warroom/plugins/sdk"

// version is the plugin's own version.
const version = "0.1.0"

func main() {
	s := newSource()
	sdk.Serve(sdk.Plugin{
		Name:             "scrape",
		Version:          version,
		Description:      "Scrapes Prometheus exposition endpoints directly: per-cohort request, error and slow-request counts, rates and latency quantiles.",
		Settings:         settingSpecs,
		Configure:        s.Configure,
		MonitoringSource: s,
	})
}
