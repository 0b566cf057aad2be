package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// The policy actions of the gate commands (the policy's roles check
// names them); the four-eyes rule is the store's.
const (
	actionGateWaive   = "gate.waive"
	actionGateApprove = "gate.approve"
)

func newGateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Quality gates of a release: their status, waivers and sign-offs",
		Long: `Every environment names the gates a build must pass to enter it. For each
service of a release and each such gate, warroom evaluates a state:

  pass     the current evidence meets the gate, or (approval gates) a
           sign-off by one of its approvers counts
  fail     the current evidence falls short of it
  missing  no evidence or sign-off yet; rehearsal and drift gates show
           "not evaluated yet" and count as missing
  waived   not passing, but a waiver lets it through until it expires
  expired  not passing, and its waiver or sign-off has expired

Only pass and waived let a build in. Evidence is added with 'warroom
evidence add'; a sign-off counts for the policy's approval_ttl (default
24h). Nobody waives or signs off a gate that a run they started waits on,
nor a waiver they requested (four-eyes; exit 3).`,
	}
	cmd.AddCommand(newGateStatusCmd(a), newGateWaiveCmd(a), newGateApproveCmd(a))
	return cmd
}

// gateStatusJSON is 'gate status -o json'.
type gateStatusJSON struct {
	Policy       string         `json:"policy"` // open or enforced
	Release      string         `json:"release"`
	Env          string         `json:"env,omitempty"`
	Environments []string       `json:"environments"`
	Services     []string       `json:"services"`
	Gates        []gateColumn   `json:"gates"`
	Results      []gates.Result `json:"results"`
	Blocking     []gates.Result `json:"blocking"`
	Clear        bool           `json:"clear"`
	Counts       map[string]int `json:"counts"`
	EvaluatedAt  time.Time      `json:"evaluated_at"`
	ApprovalTTL  string         `json:"approval_ttl"`
}

type gateColumn struct {
	Name       string         `json:"name"`
	Kind       model.GateKind `json:"kind"`
	RequiredBy []string       `json:"required_by"`
}

func newGateStatusCmd(a *app) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "status RELEASE [--env E]",
		Short: "The gate matrix of a release: service × gate, with the reason of each cell",
		Long: `Print the state of every gate for every service of the release: the gates
required by --env, or without it by every environment the release goes
through. Each cell that does not pass is listed under the matrix with its
reason: what was measured against what threshold, from which file (by
sha256) added by whom and when, or which waiver or sign-off counts.

With --env, exits 3 when any gate the environment requires is not pass or
waived for some service: the build may not enter it. Without --env the
matrix is a report and exits 0.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := gateStatus(ctx, s, args[0], env, time.Now())
			if err != nil {
				return err
			}
			if a.json() {
				if err := a.writeJSON(st); err != nil {
					return err
				}
			} else {
				printGateMatrix(a, st)
			}
			if env != "" && !st.Clear {
				if !a.json() {
					fmt.Fprintf(a.stderr, "warroom: release %s may not enter %s: %d %s not pass or waived\n",
						st.Release, env, len(st.Blocking), plural(len(st.Blocking), "gate is", "gates are"))
				}
				return silentExit(exitRefused)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "only the gates this environment requires; exit 3 unless every one is pass or waived")
	return cmd
}

// gateStatus evaluates the gates of release for env ("" for every
// environment it goes through) as of now.
func gateStatus(ctx context.Context, s *store.Store, release, env string, now time.Time) (gateStatusJSON, error) {
	org, err := s.OrgOf(ctx, model.KindRelease, model.KindEnvironment, model.KindGate)
	if err != nil {
		return gateStatusJSON{}, err
	}
	sc, err := gates.Required(model.NewIndex(org), release, env)
	if err != nil {
		if errors.Is(err, gates.ErrUnknown) && strings.HasPrefix(err.Error(), "release ") {
			return gateStatusJSON{}, unknownRelease(release, org)
		}
		if errors.Is(err, gates.ErrUnknown) && env != "" && strings.HasPrefix(err.Error(), "environment \""+env) {
			return gateStatusJSON{}, fmt.Errorf("unknown environment %q: known environments are %s", env, envNames(org))
		}
		return gateStatusJSON{}, err
	}
	rec, err := s.GateRecords(ctx, release)
	if err != nil {
		return gateStatusJSON{}, err
	}
	req := sc.Request(env, now)
	// The policy's approval_ttl and role check (MayApprove), as the
	// engine's entry check and the console evaluate them.
	if req.Policy, err = newStoreGates(s).ApprovalPolicy(ctx); err != nil {
		return gateStatusJSON{}, err
	}
	results := gates.Evaluate(req, rec)
	out := gateStatusJSON{
		Release: release, Env: env, Environments: orEmpty(sc.Environments), Services: orEmpty(sc.Services),
		Gates: []gateColumn{}, Results: orEmpty(results), Blocking: orEmpty(gates.Blocking(results)),
		Counts: map[string]int{}, EvaluatedAt: now.UTC(), ApprovalTTL: approvalTTL(req.Policy).String(),
	}
	out.Clear = len(out.Blocking) == 0
	out.Policy, err = policyMode(ctx, s)
	if err != nil {
		return gateStatusJSON{}, err
	}
	for _, g := range sc.Gates {
		out.Gates = append(out.Gates, gateColumn{Name: g.Name, Kind: g.Kind, RequiredBy: sc.RequiredBy[g.Name]})
	}
	for _, st := range gates.States {
		out.Counts[string(st)] = 0
	}
	for _, r := range results {
		out.Counts[string(r.State)]++
	}
	return out, nil
}

func envNames(org *model.Org) string {
	var names []string
	for _, e := range org.Environments {
		names = append(names, e.Name)
	}
	return orNone(names)
}

// stateMark is a cell of the matrix: a symbol and the state's word, so
// that it reads without colour.
func stateMark(s gates.State) string {
	switch s {
	case gates.Pass:
		return "✓ pass"
	case gates.Fail:
		return "✗ fail"
	case gates.Waived:
		return "~ waived"
	case gates.Expired:
		return "! expired"
	}
	return "? missing"
}

func printGateMatrix(a *app, st gateStatusJSON) {
	scope := "every environment it goes through (" + orNone(st.Environments) + ")"
	if st.Env != "" {
		scope = st.Env
	}
	fmt.Fprintf(a.stdout, "release %s, gates required by %s\n", st.Release, scope)
	if len(st.Gates) == 0 || len(st.Services) == 0 {
		fmt.Fprintln(a.stdout, "no gates required")
		return
	}
	header := "SERVICE"
	for _, g := range st.Gates {
		header += "\t" + strings.ToUpper(g.Name)
	}
	cell := map[[2]string]gates.Result{}
	for _, r := range st.Results {
		cell[[2]string{r.Service, r.Gate}] = r
	}
	a.table(header, func(row func(cols ...any)) {
		for _, svc := range st.Services {
			cols := []any{svc}
			for _, g := range st.Gates {
				cols = append(cols, stateMark(cell[[2]string{svc, g.Name}].State))
			}
			row(cols...)
		}
	})
	var parts []string
	for _, s := range gates.States {
		if n := st.Counts[string(s)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(a.stdout, "\n%s\n", strings.Join(parts, ", "))
	for _, r := range st.Results {
		if r.State != gates.Pass {
			fmt.Fprintf(a.stdout, "  %s/%s %s: %s\n", r.Service, r.Gate, r.State, r.Reason)
		}
	}
}

func newGateWaiveCmd(a *app) *cobra.Command {
	var service, gate, reason, expires, env string
	cmd := &cobra.Command{
		Use:   "waive RELEASE --service S --gate G --reason TEXT --expires WHEN [--env E]",
		Short: "Let a gate that does not pass through, with a reason, until it expires (audited)",
		Long: `Waive a gate for one service of a release: the gate counts as waived (which
lets a build in) until the waiver expires, then as expired (which does
not). A waiver holds for every environment that requires the gate, or only
for --env. The reason is required and recorded with the waiver.

--expires is a duration from now (48h, 90m, 3d), a date (2026-12-08, at
00:00 UTC) or a time (2026-12-08T12:00:00Z, or "2026-12-08 12:00" in UTC);
it must be in the future.

Who may waive is the policy's action gate.waive (approver or captain, and
one of the gate's approvers when it names some). Four-eyes: nobody waives
a gate for a release whose unfinished run they started (directly or
through a delegate), which is asking for the waiver: refused with exit 3,
nothing written, the refusal audited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageError{errors.New("--reason: say why the gate may be let through")}
			}
			now := time.Now().UTC()
			until, err := parseExpiry(expires, now)
			if err != nil {
				return usageError{fmt.Errorf("--expires %q: %w", expires, err)}
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			by := a.gateActor()
			w, ev, err := s.WaiveGate(ctx, by, store.WaiverRequest{Release: args[0], Service: service, Gate: gate, Env: env,
				Reason: reason, Expires: until})
			if err != nil {
				return a.gateRefusal(ctx, s, actionGateWaive, args[0], service, gate, err)
			}
			if a.json() {
				mode, err := policyMode(ctx, s)
				if err != nil {
					return err
				}
				return a.writeJSON(struct {
					gates.Waiver
					AuditSeq int64  `json:"audit_seq"`
					Policy   string `json:"policy"`
				}{w, ev.Seq, mode})
			}
			fmt.Fprintf(a.stdout, "%s (audit #%d)\n", ev.Summary, ev.Seq)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "the service of the release whose gate is waived (required)")
	f.StringVar(&gate, "gate", "", "the gate waived (required)")
	f.StringVar(&reason, "reason", "", "why the gate may be let through; recorded and shown with the gate (required)")
	f.StringVar(&expires, "expires", "", "when the waiver ends: a duration from now (48h, 3d), a date or an RFC 3339 time (required)")
	f.StringVar(&env, "env", "", "waive the gate in this environment only (default: in every environment that requires it)")
	for _, name := range []string{"service", "gate", "reason", "expires"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newGateApproveCmd(a *app) *cobra.Command {
	var service, gate, reason string
	cmd := &cobra.Command{
		Use:   "approve RELEASE --service S --gate G [--reason TEXT]",
		Short: "Sign off an approval gate for a service of a release (audited)",
		Long: `Sign off a gate of kind approval for one service of a release. The gate
passes while a sign-off by one of its approvers counts: for the policy's
approval_ttl (default 24h) after it was given. Gates of other kinds take
evidence ('warroom evidence add') or a waiver ('warroom gate waive').

Who may sign off is the policy's action gate.approve (approver or captain,
and one of the gate's approvers when it names some). Four-eyes: nobody
signs off a gate for a release whose unfinished run they started
(directly or through a delegate): refused with exit 3, nothing written,
the refusal audited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			so, ev, err := s.ApproveGate(ctx, a.gateActor(), store.SignOffRequest{Release: args[0], Service: service, Gate: gate, Reason: reason})
			if err != nil {
				return a.gateRefusal(ctx, s, actionGateApprove, args[0], service, gate, err)
			}
			if a.json() {
				mode, err := policyMode(ctx, s)
				if err != nil {
					return err
				}
				return a.writeJSON(struct {
					gates.SignOff
					AuditSeq int64  `json:"audit_seq"`
					Policy   string `json:"policy"`
				}{so, ev.Seq, mode})
			}
			fmt.Fprintf(a.stdout, "%s (audit #%d)\n", ev.Summary, ev.Seq)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&service, "service", "", "the service of the release whose gate is signed off (required)")
	f.StringVar(&gate, "gate", "", "the approval gate signed off (required)")
	f.StringVar(&reason, "reason", "", "a note recorded with the sign-off")
	cmd.MarkFlagRequired("service")
	cmd.MarkFlagRequired("gate")
	return cmd
}

// policyMode is "enforced" once people are declared, else "open".
func policyMode(ctx context.Context, s *store.Store) (string, error) {
	on, err := s.Enforced(ctx)
	if err != nil || !on {
		return "open", err
	}
	return "enforced", nil
}

// gateActor is who acts on a gate: the actor string, "ci-bot for alice"
// when a delegate acts for someone.
func (a *app) gateActor() store.Actor { return store.ParseActor(a.actor) }

// gateRefusal maps a store error of a gate command to its exit: a
// four-eyes refusal is audited (nothing else is written) and exits 3;
// anything else is an error (exit 1).
func (a *app) gateRefusal(ctx context.Context, s *store.Store, action, release, service, gate string, err error) error {
	return a.fourEyesRefusal(ctx, s, action, map[string]any{"release": release, "service": service, "gate": gate}, err)
}

// fourEyesRefusal maps a store error of a sign-off command to its exit:
// a four-eyes refusal is audited as "policy refuse" (nothing else is
// written) with what was acted on (about) in its payload, and exits 3;
// anything else is returned as it is (exit 1).
func (a *app) fourEyesRefusal(ctx context.Context, s *store.Store, action string, about map[string]any, err error) error {
	var fe *store.FourEyesError
	if !errors.As(err, &fe) {
		return err
	}
	payload := map[string]any{"action": action, "rule": "four-eyes", "party": fe.Party.String(), "relation": fe.Relation}
	for k, v := range about {
		payload[k] = v
	}
	if _, aerr := s.Write(ctx, a.actor, "policy refuse", func(context.Context, *store.Tx) (store.Change, error) {
		return store.Change{Summary: "refused " + action + ": " + fe.Error(), Payload: payload}, nil
	}); aerr != nil {
		return fmt.Errorf("%w (and the refusal could not be audited: %v)", fe, aerr)
	}
	return withCode(exitRefused, fe)
}

var expiryDays = regexp.MustCompile(`^(\d+)d$`)

// parseExpiry reads --expires: a duration from now (48h, 90m, 3d), a
// date (00:00 UTC), "YYYY-MM-DD HH:MM" (UTC) or RFC 3339. It must be
// after now.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	if m := expiryDays.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 3660 {
			return time.Time{}, errors.New("too many days")
		}
		t = now.Add(time.Duration(n) * 24 * time.Hour)
	} else if d, err := time.ParseDuration(s); err == nil {
		t = now.Add(d)
	} else {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04", "2006-01-02"} {
			if v, err := time.Parse(layout, s); err == nil {
				t = v
				break
			}
		}
		if t.IsZero() {
			return time.Time{}, errors.New(`use a duration (48h, 3d), a date (2026-12-08), "2026-12-08 12:00" (UTC) or an RFC 3339 time`)
		}
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("%s is not in the future", t.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return t.UTC(), nil
}

// approvalTTL is how long a sign-off counts under p.
func approvalTTL(p gates.Policy) time.Duration {
	if p.ApprovalTTL > 0 {
		return p.ApprovalTTL
	}
	return gates.DefaultApprovalTTL
}
