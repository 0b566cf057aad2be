// Command canarysim judges identical seeded synthetic canary traffic with
// warroom's canary judge and with re-implementations of the documented
// defaults of Flagger, Argo Rollouts, a Kayenta-like Mann-Whitney judge and
// a fixed-horizon test, and prints per scenario the false-rollback rate,
// the missed regressions, time to detect and the information floor, and
// on every regression a reference that knows its size but not its onset
// (see core/canary/canarysim for the traffic and the yardsticks). The full run
// is part of `make bench`; results.txt holds its table.
//
//	go run ./scripts/canarysim [-o json] [-quick] [-runs N] [-only 'substring|substring'] [-workers N]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/warroom/warroom/core/canary/canarysim"
)

func main() {
	out := flag.String("o", "text", "output: text or json")
	quick := flag.Bool("quick", false, "few runs (133 healthy, 20 per regression), for tests")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parallel workers")
	only := flag.String("only", "", "run only the scenarios whose name contains this (alternatives separated by |)")
	runs := flag.Int("runs", 0, "runs per regression scenario, healthy ones getting 20/3 as many (0: 300, or 20 with -quick)")
	flag.Parse()
	if err := run(os.Stdout, os.Stderr, *out, *quick, *workers, *only, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "canarysim:", err)
		os.Exit(2)
	}
}

func run(stdout, stderr io.Writer, format string, quick bool, workers int, only string, runs int) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("-o %q: want text or json", format)
	}
	if runs < 0 {
		return fmt.Errorf("-runs %d: want 0 or more", runs)
	}
	switch {
	case runs > 0:
	case quick:
		runs = 20
	default:
		runs = 300
	}
	scs := canarysim.Select(canarysim.Scenarios(runs*20/3, runs), only)
	if len(scs) == 0 {
		return fmt.Errorf("-only %q: no scenario matches", only)
	}
	start := time.Now()
	rows := canarysim.Run(scs, workers)
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		return enc.Encode(rows)
	}
	canarysim.PrintTable(stdout, rows)
	fmt.Fprintf(stderr, "canarysim: %d scenarios in %s on %d workers\n", len(scs), time.Since(start).Round(time.Second), workers)
	return nil
}
