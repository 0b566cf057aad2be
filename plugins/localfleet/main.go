package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/sdk"
)

// version is the plugin's own version.
const version = "1.0.0"

func main() {
	log := hclog.New(&hclog.LoggerOptions{
		Name:       "localfleet",
		Level:      hclog.Info,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	t := newTarget(log)
	// SIGTERM (or SIGINT, sent to the plugin alone) stops the fleet
	// before the plugin goes; SIGKILL is Pdeathsig's job.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		log.Info("stopping the fleet", "signal", sig.String())
		t.Close()
		os.Exit(0)
	}()
	sdk.Serve(sdk.Plugin{
		Name:         "localfleet",
		Version:      version,
		Description:  "Runs a local fleet of demo-service processes behind weighted proxies: rolling, blue-green and canary for real, on one laptop.",
		Settings:     settingSpecs,
		Configure:    t.Configure,
		DeployTarget: t,
	})
	// warroom stopped the plugin gracefully.
	t.Close()
}
