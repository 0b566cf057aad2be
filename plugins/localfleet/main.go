package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
	"github.com/warroom/warroom/plugins/sdk"
)

// version is the plugin's own version.
const version = "1.0.0"

// stopTimeout bounds `localfleet stop`: every instance gets 3s between
// SIGTERM and SIGKILL, all at once.
const stopTimeout = 30 * time.Second

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "supervise":
			os.Exit(runSupervisor(os.Args[2:]))
		case "stop":
			os.Exit(runStop(os.Args[2:]))
		default:
			fmt.Fprintf(os.Stderr, "localfleet: unknown command %q\nusage: localfleet (run by warroom as a plugin)\n       localfleet stop STATE_DIR\n", os.Args[1])
			os.Exit(2)
		}
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name:       "localfleet",
		Level:      hclog.Info,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	r := newRemote(log)
	// The fleet belongs to its supervisor: a plugin that ends, however
	// it ends, leaves it running for the next plugin process to adopt.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		r.Close()
		os.Exit(0)
	}()
	sdk.Serve(sdk.Plugin{
		Name:         "localfleet",
		Version:      version,
		Description:  "Runs a local fleet of demo-service processes behind weighted proxies: rolling, blue-green and canary for real, on one laptop. The fleet outlives the plugin (a detached supervisor per state dir).",
		Settings:     settingSpecs,
		Configure:    r.Configure,
		DeployTarget: r,
	})
	r.Close()
}

// runStop is `localfleet stop STATE_DIR`: stop the fleet of a state dir
// and wait until nothing of it runs.
func runStop(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: localfleet stop STATE_DIR (warroom's is <database dir>/plugin-state/localfleet)")
		return 2
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "localfleet stop: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	st, err := fleetctl.Stop(ctx, dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localfleet stop: %v\n", err)
		return 1
	}
	if st.PID == 0 {
		fmt.Printf("no local fleet runs for %s\n", dir)
		return 0
	}
	fmt.Printf("stopped the local fleet of %s: supervisor pid %d, %d demo-service processes, %d proxies\n", dir, st.PID, st.Processes, st.Proxies)
	return 0
}
