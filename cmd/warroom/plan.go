package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

func newPlanCmd(a *app) *cobra.Command {
	return a.orgCommand(&cobra.Command{
		Use:   "plan RELEASE",
		Short: "The release's wave plan and what blocks it",
		Long: `Plan a release: its services in waves (every provider before its
consumers; a migration's expand before the consumers of the new schema and
its contract after all of them), expanded per environment in promotion
order and per production region by its next low-traffic window.

Blockers: incompatible versions, dependency cycles, a window inside a
freeze (unless the freeze's exception policy lets the release through) or
outside an environment's maintenance windows, services without an owner,
library conflicts no version resolves. Warnings: resolvable library
conflicts, business events and vendor windows in the release window.

Canary bakes: for each canary step whose service gives deploy.expected_rps
for its environment, the traffic each weight gets and the bake time a
healthy canary needs for the canary judge's proofs at that traffic (with
the service's tolerances, the baseline erring at its SLO's error budget or
0.1 % without one, and alpha spread across the release's canary services);
it says when bake_time is shorter, and whether the judge's extensions
(bake_extension x bake_time) cover it or the step will wait for an
operator. In JSON, each canary step has "canary": "bake_time",
"bake_extension", "max_bake" (bake_extension x bake_time), "expected_rps"
(the step's: a region gets its weight's share), "weights" (each with
"percent", "canary_rps", "baseline_rps", "bake_needed" (null when not
known, or not reached within a day) and "outlook"), "outlook" (the worst
weight's: enough, extended, operator or unknown) and "note".

Exit 0 when the release can go, 3 when it is blocked (the plan is printed
either way).`,
		Args: cobra.ExactArgs(1),
	}, func(cmd *cobra.Command, org *model.Org, args []string) error {
		ix := model.NewIndex(org)
		p, err := plan.Build(ix, args[0])
		if errors.Is(err, plan.ErrUnknownRelease) {
			return unknownRelease(args[0], org)
		}
		if err != nil {
			return err
		}
		p.EstimateCanaryBakes(bakeEstimator(ix, p))
		if a.json() {
			err = a.writeJSON(p)
		} else {
			err = printPlan(a.stdout, p)
		}
		if err != nil {
			return err
		}
		if p.Blocked() {
			if !a.json() {
				fmt.Fprintf(a.stderr, "warroom: release %s is blocked (%d %s)\n", p.Release, len(p.Blockers), plural(len(p.Blockers), "blocker", "blockers"))
			}
			return silentExit(exitRefused)
		}
		return nil
	})
}

func printPlan(w io.Writer, p *plan.Plan) error {
	fmt.Fprintf(w, "Release %s", p.Release)
	if p.Title != "" {
		fmt.Fprintf(w, " - %s", p.Title)
	}
	fmt.Fprintf(w, "\n  class %s, window %s UTC\n", p.Class, formatWindow(p.Window))

	fmt.Fprintln(w, "\nServices")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tTIER\tVERSION\tSTRATEGY\tOWNER")
	for _, s := range p.Services {
		fmt.Fprintf(tw, "  %s\t%d\t%s -> %s\t%s\t%s\n", s.Name, s.Tier, dash(s.FromVersion), s.ToVersion, dash(string(s.Strategy)), dash(s.Owner))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nWaves")
	for _, wave := range p.Waves {
		var items []string
		for _, m := range wave.Migrations {
			items = append(items, fmt.Sprintf("[%s %s on %s]", m.Migration, m.Phase, strings.Join(m.Databases, ", ")))
		}
		items = append(items, wave.Services...)
		fmt.Fprintf(w, "  %d. %s\n", wave.Index, strings.Join(items, ", "))
	}
	if len(p.Waves) == 0 {
		fmt.Fprintln(w, "  (none: see blockers)")
	}

	fmt.Fprintln(w, "\nEnvironments (promotion order)")
	for _, e := range p.Environments {
		var notes []string
		if len(e.Gates) > 0 {
			notes = append(notes, "gates "+strings.Join(e.Gates, ", "))
		}
		if e.Approval {
			notes = append(notes, "approval required")
		}
		if e.BakeTime != 0 {
			notes = append(notes, "bake "+e.BakeTime.String())
		}
		if !e.MaintenanceOK {
			notes = append(notes, "OUTSIDE MAINTENANCE WINDOW")
		}
		fmt.Fprintf(w, "  %d. %s", e.Order, e.Name)
		if e.Production {
			fmt.Fprint(w, " (production)")
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(notes, "; "))
		}
		fmt.Fprintln(w)
		if !e.Production {
			continue // regions of non-production environments are not timed
		}
		for _, r := range e.Regions {
			lt := "no low-traffic window"
			if r.LowTraffic != nil {
				lt = "low traffic " + r.LowTraffic.Start.UTC().Format("Jan 02 15:04") + "-" + r.LowTraffic.End.UTC().Format("15:04") + " UTC"
			}
			fmt.Fprintf(w, "       %s (%s): %s\n", r.Name, r.TimeZone, lt)
		}
	}
	fmt.Fprintf(w, "\n%d steps\n", len(p.Steps))
	printCanaryBakes(w, p)

	printIssues(w, "Blockers", "x", p.Blockers)
	printIssues(w, "Warnings", "!", p.Warnings)
	if !p.Blocked() {
		fmt.Fprintln(w, "\nready: no blockers")
	}
	return nil
}

func printIssues(w io.Writer, title, symbol string, issues []plan.Issue) {
	if len(issues) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s (%d)\n", title, len(issues))
	for _, is := range issues {
		fmt.Fprintf(w, "  %s %s: %s\n", symbol, is.Kind, is.Message)
	}
}

// bakeEstimator estimates a canary's bake with the judge's own proofs and
// the configuration the judge gives the service in a run of this plan.
func bakeEstimator(ix *model.Index, p *plan.Plan) plan.BakeEstimator {
	train := 0
	for _, c := range p.Services {
		if c.Strategy == model.Canary {
			train++
		}
	}
	return func(service string, canaryRPS, baselineRPS float64, limit time.Duration) (time.Duration, bool) {
		svc := ix.Services[service]
		cfg := canaryConfig(svc, train)
		baseErrors := defaultPlanErrorRate
		if svc != nil && svc.SLO.Availability > 0 && svc.SLO.Availability < 100 {
			baseErrors = 1 - svc.SLO.Availability/100
		}
		return canary.BakeNeeded(cfg, canary.Traffic{CanaryRPS: canaryRPS, BaseRPS: baselineRPS, BaseErrorRate: baseErrors}, limit)
	}
}

// defaultPlanErrorRate is the baseline's error rate the plan assumes for a
// service whose SLO sets no availability.
const defaultPlanErrorRate = 0.001

// printCanaryBakes lists the canary steps with their traffic and the bake
// their proofs need.
func printCanaryBakes(w io.Writer, p *plan.Plan) {
	var lines []string
	for _, s := range p.Steps {
		cb := s.Canary
		if cb == nil {
			continue
		}
		where := s.Environment
		if s.Region != "" {
			where += "/" + s.Region
		}
		line := fmt.Sprintf("  %d. %s in %s", s.Index, s.Service, where)
		if cb.ExpectedRPS > 0 {
			var ws []string
			for _, wt := range cb.Weights {
				need := "not within " + model.Duration(plan.MaxEstimate).String()
				if wt.BakeNeeded != nil {
					need = wt.BakeNeeded.String()
				}
				ws = append(ws, fmt.Sprintf("%d%% %s", wt.Percent, need))
			}
			line += fmt.Sprintf(", %s rps expected; needed %s", formatRPS(cb.ExpectedRPS), strings.Join(ws, ", "))
		}
		symbol := " "
		switch cb.Outlook {
		case plan.OutlookExtended:
			symbol = "~"
		case plan.OutlookOperator:
			symbol = "!"
		}
		lines = append(lines, line+"\n     "+symbol+" "+cb.Note)
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCanary bakes (%d)\n", len(lines))
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func formatRPS(x float64) string {
	if x >= 10 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 2, 64)
}
