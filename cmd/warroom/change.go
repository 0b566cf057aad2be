package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store"
)

// backoutPlan is what warroom promises when a release goes wrong.
const backoutPlan = "automatic rollback by warroom"

func newChangeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Change requests: file them with the ticketing plugin, follow their approvals",
		Long: `A change request asks the people who approve production changes for a
release. warroom files it with the ticketing plugin (tickets-local unless
the configuration says otherwise; policy action change.create), records it
in the database (audited) and mirrors its state and approvals with 'warroom
change sync'. 'warroom change approve' records a decision on it in warroom
(policy action change.approve; nobody approves a change they filed).`,
	}
	cmd.AddCommand(newChangeCreateCmd(a), newChangeListCmd(a), newChangeSyncCmd(a), newChangeApproveCmd(a))
	return cmd
}

func newChangeCreateCmd(a *app) *cobra.Command {
	var ticketing, class string
	cmd := &cobra.Command{
		Use:   "create RELEASE [--ticketing NAME] [--class normal]",
		Short: "File a change request for a release (audited)",
		Long: `File a change request for the release with the ticketing plugin: its title,
window, the services in scope, the actor (--as) as requester and the backout
plan "automatic rollback by warroom". Filing it again for the same release
returns the change filed the first time (the ticketing plugin keys it by
the release). The class is the release's, else normal; --class overrides it.

Who may file is the policy's action change.create (captain or operator by
default): refused, exit 3, nothing filed, the refusal audited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			// Left out, class stays "": fileChange takes the release's.
			if cmd.Flags().Changed("class") && !validClass(class) {
				return usageError{fmt.Errorf("--class %q: use standard, normal or emergency", class)}
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			c, filed, err := a.fileChange(ctx, s, args[0], ticketing, class, a.actor)
			if err != nil {
				return err
			}
			if a.json() {
				return a.writeJSON(struct {
					store.ChangeRecord
					Changed bool `json:"changed"`
				}{c, filed})
			}
			verb := "filed"
			if !filed {
				verb = "already filed:"
			}
			fmt.Fprintf(a.stdout, "%s change %s for release %s in %s as %s (%s)\n", verb, c.ID, c.Release, c.System, c.TicketRef, c.State)
			if c.URL != "" {
				fmt.Fprintln(a.stdout, c.URL)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&ticketing, "ticketing", "", "ticketing plugin to file with (default: the configured plugin of kind ticketing)")
	cmd.Flags().StringVar(&class, "class", "", "change class: standard, normal or emergency (default: the release's, else normal)")
	return cmd
}

func validClass(c string) bool {
	return slices.Contains([]string{string(model.ClassStandard), string(model.ClassNormal), string(model.ClassEmergency)}, c)
}

// fileChange files a change request for release with the ticketing plugin
// (name, or the configured one when empty) and records it, requested by
// actor. class empty means the release's. filed is false when the change
// was there already and nothing about it changed.
func (a *app) fileChange(ctx context.Context, s *store.Store, release, name, class, actor string) (c store.ChangeRecord, filed bool, err error) {
	org, err := s.Org(ctx)
	if err != nil {
		return c, false, err
	}
	p, err := plan.Build(model.NewIndex(org), release)
	if errors.Is(err, plan.ErrUnknownRelease) {
		return c, false, unknownRelease(release, org)
	}
	if err != nil {
		return c, false, err
	}
	rel, _ := findRelease(org, release)
	if class == "" {
		class = string(p.Class)
	}
	if class == "" {
		class = string(model.ClassNormal)
	}
	h, err := a.pluginHost(ctx)
	if err != nil {
		return c, false, err
	}
	if name, err = ticketingPlugin(h.Config(), name); err != nil {
		return c, false, err
	}
	t, err := h.Ticketing(ctx, name)
	if err != nil {
		return c, false, fmt.Errorf("change create %s: %w", release, err)
	}
	spec := changeSpec(p, rel, class, actor)
	ch, err := t.CreateChange(ctx, sdk.CreateChangeRequest{IdempotencyKey: "warroom-change/" + release, Spec: spec})
	if err != nil {
		return c, false, fmt.Errorf("change create %s: %s: %w", release, name, err)
	}
	c, ev, err := s.RecordChange(ctx, actor, changeRecord(ch, name, spec))
	if err != nil {
		return c, false, fmt.Errorf("change create %s: filed in %s as %s but not recorded: %w", release, name, ch.ID, err)
	}
	return c, ev != nil, nil
}

func findRelease(org *model.Org, name string) (model.Release, bool) {
	for _, r := range org.Releases {
		if r.Name == name {
			return r, true
		}
	}
	return model.Release{}, false
}

// ticketingPlugin is name if it is configured for ticketing, else the
// first plugin configured for ticketing.
func ticketingPlugin(cfg *host.Config, name string) (string, error) {
	var names []string
	for _, p := range cfg.Plugins {
		if slices.Contains(p.Kinds, sdk.KindTicketing) {
			names = append(names, p.Name)
		}
	}
	switch {
	case name != "" && slices.Contains(names, name):
		return name, nil
	case name != "":
		return "", fmt.Errorf("plugin %q is not configured for ticketing (ticketing plugins: %s)", name, orNone(names))
	case len(names) == 0:
		return "", errors.New("no ticketing plugin is configured: add one of kind ticketing to the plugin configuration, or run 'make build' for tickets-local")
	}
	return names[0], nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// changeSpec is what the change request says about the release.
func changeSpec(p *plan.Plan, rel model.Release, class, actor string) sdk.ChangeSpec {
	title := p.Title
	if title == "" {
		title = "Release " + p.Release
	}
	spec := sdk.ChangeSpec{
		Release: p.Release, Title: title, Class: class, BackoutPlan: backoutPlan,
		WindowStart: p.Window.Start, WindowEnd: p.Window.End, RequestedBy: actor,
		Stakeholders: rel.Stakeholders,
	}
	var lines []string
	if rel.Description != "" {
		lines = append(lines, rel.Description)
	}
	for _, sc := range p.Services {
		spec.Services = append(spec.Services, sc.Name)
		lines = append(lines, fmt.Sprintf("%s %s -> %s", sc.Name, dashVersion(sc.FromVersion), sc.ToVersion))
	}
	spec.Description = strings.Join(lines, "\n")
	for _, e := range p.Environments {
		if e.Production {
			for _, ap := range e.Approvers {
				if !slices.Contains(spec.ApproversRequired, ap) {
					spec.ApproversRequired = append(spec.ApproversRequired, ap)
				}
			}
		}
	}
	return spec
}

func dashVersion(v string) string {
	if v == "" {
		return "(new)"
	}
	return v
}

// changeRecord is how warroom records a ticket of plugin system.
func changeRecord(ch sdk.Change, system string, spec sdk.ChangeSpec) store.ChangeRecord {
	c := store.ChangeRecord{
		Release: ch.Spec.Release, Title: ch.Spec.Title, Requester: ch.Spec.RequestedBy, Class: ch.Spec.Class,
		State: ch.State, Risk: ch.Spec.Risk, Backout: ch.Spec.BackoutPlan, System: system, TicketRef: ch.ID,
		URL: ch.URL, CreatedAt: ch.CreatedAt.UTC(), UpdatedAt: ch.UpdatedAt.UTC(),
	}
	// A ticketing system may not echo everything back: what warroom asked
	// for stands in.
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&c.Release, spec.Release}, {&c.Title, spec.Title}, {&c.Requester, spec.RequestedBy},
		{&c.Class, spec.Class}, {&c.Backout, spec.BackoutPlan},
	} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
	for _, ap := range ch.Approvals {
		c.Approvals = append(c.Approvals, store.ChangeApproval{Approver: ap.Approver, Role: ap.Role,
			Decision: ap.Decision, Reason: ap.Comment, At: ap.At.UTC()})
	}
	return c
}

func newChangeListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list [RELEASE]",
		Short: "List the recorded change requests, newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			release := ""
			if len(args) == 1 {
				release = args[0]
			}
			s, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			list, err := s.Changes(cmd.Context(), release)
			if err != nil {
				return err
			}
			if a.json() {
				return a.writeJSON(orEmpty(list))
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stdout, "no change requests recorded: file one with 'warroom change create RELEASE'")
				return nil
			}
			return a.table("ID\tRELEASE\tCLASS\tSTATE\tAPPROVALS\tTICKET\tUPDATED (UTC)", func(row func(...any)) {
				for _, c := range list {
					row(c.ID, dash(c.Release), c.Class, c.State, approvalCount(c.Approvals),
						dash(ticketOf(c)), c.UpdatedAt.UTC().Format("2006-01-02 15:04"))
				}
			})
		},
	}
}

// approvalCount says how many approve and reject decisions a change has.
func approvalCount(as []store.ChangeApproval) string {
	var yes, no int
	for _, a := range as {
		if a.Decision == "reject" {
			no++
		} else {
			yes++
		}
	}
	if no == 0 {
		return fmt.Sprint(yes)
	}
	return fmt.Sprintf("%d (%d rejected)", yes, no)
}

func ticketOf(c store.ChangeRecord) string {
	if c.TicketRef == "" {
		return ""
	}
	return c.System + " " + c.TicketRef
}

func newChangeSyncCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Refresh the recorded changes' state and approvals from their ticketing plugins (audited)",
		Long: `Ask each recorded change's ticketing plugin for the ticket, and record what
moved: its state and new approvals (each update is audited). A change whose
plugin is not configured any more is reported and skipped; the exit code is
1 if any change could not be refreshed.`,
		Args: cobra.NoArgs,
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
			updated, failed, err := a.syncChanges(ctx, s)
			if err != nil {
				return err
			}
			if a.json() {
				if err := a.writeJSON(map[string]any{"updated": orEmpty(updated), "failed": orEmpty(failed)}); err != nil {
					return err
				}
			} else {
				for _, c := range updated {
					fmt.Fprintf(a.stdout, "%s: %s, %d approval decisions\n", c.ID, c.State, len(c.Approvals))
				}
				if len(updated) == 0 && len(failed) == 0 {
					fmt.Fprintln(a.stdout, "every recorded change is up to date")
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("change sync: %s", strings.Join(failed, "; "))
			}
			return nil
		},
	}
}

// syncChanges refreshes every recorded change from its plugin; failed
// says, per change, why it could not be.
func (a *app) syncChanges(ctx context.Context, s *store.Store) (updated []store.ChangeRecord, failed []string, err error) {
	list, err := s.Changes(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	if len(list) == 0 {
		return nil, nil, nil
	}
	h, err := a.pluginHost(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range list {
		if c.TicketRef == "" || c.System == "" {
			continue
		}
		t, err := h.Ticketing(ctx, c.System)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", c.ID, err))
			continue
		}
		ch, err := t.GetChange(ctx, c.TicketRef)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %s %s: %v", c.ID, c.System, c.TicketRef, err))
			continue
		}
		rec := changeRecord(ch, c.System, sdk.ChangeSpec{Release: c.Release, Title: c.Title, RequestedBy: c.Requester,
			Class: c.Class, BackoutPlan: c.Backout})
		rec.ID = c.ID
		if rec.UpdatedAt.IsZero() {
			rec.UpdatedAt = time.Now().UTC()
		}
		got, ev, err := s.RecordChange(ctx, a.actor, rec)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", c.ID, err))
			continue
		}
		if ev != nil {
			updated = append(updated, got)
		}
	}
	return updated, failed, nil
}

// actionChangeApprove is the policy action of 'change approve' (the
// policy's roles check names it); the four-eyes rule is the store's.
const actionChangeApprove = "change.approve"

func newChangeApproveCmd(a *app) *cobra.Command {
	var reject bool
	var reason, role string
	cmd := &cobra.Command{
		Use:   "approve CHANGE [--reject] [--reason TEXT] [--role ROLE]",
		Short: "Approve or reject a recorded change request (audited)",
		Long: `Record a decision on a change request (its warroom id, CHG-0001, as 'warroom
change list' shows): approve, or reject with --reject. The decision joins
the change's approval history in warroom's database, audited as "change
approve"; the ticketing system's own approvals are mirrored by 'warroom
change sync'.

--role is the role or team the decision is made as: one the actor holds
(a built-in role, a governance role or a team). Without it, the actor's
first governance role, else their first built-in role; in open mode,
approver.

Who may decide is the policy's action change.approve (approver or captain
by default). Four-eyes: nobody approves or rejects a change they filed,
directly or through a delegate, and a delegate does not decide a change
it filed for someone: refused with exit 3, nothing written, the refusal
audited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			id := a.gov.id
			if role == "" {
				role = defaultChangeRole(id)
			} else if a.policyMode() == policy.Enforced && !holds(id, role) {
				return usageError{fmt.Errorf("--role %s: %s holds %s", role, id.Actor(), orNone(heldBy(id)))}
			}
			decision := "approve"
			if reject {
				decision = "reject"
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			c, ev, err := s.ApproveChange(ctx, store.ParseActor(a.actor), args[0], role, decision, strings.TrimSpace(reason))
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no change %s is recorded: 'warroom change list' shows the changes", args[0])
			}
			if err != nil {
				return a.fourEyesRefusal(ctx, s, actionChangeApprove, map[string]any{"change": args[0], "decision": decision}, err)
			}
			if a.json() {
				return a.writeJSON(struct {
					store.ChangeRecord
					AuditSeq int64 `json:"audit_seq"`
				}{c, ev.Seq})
			}
			fmt.Fprintf(a.stdout, "%s (audit #%d)\n", ev.Summary, ev.Seq)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&reject, "reject", false, "reject the change instead of approving it")
	f.StringVar(&reason, "reason", "", "a note recorded with the decision")
	f.StringVar(&role, "role", "", "the role or team the decision is made as, one you hold (default: your first governance role, else your first role)")
	return cmd
}

// defaultChangeRole is the role a change decision is recorded as when
// --role is not given: the governance role a change approval is usually
// asked of, else a built-in role; in open mode nobody holds any, and the
// decision is an approver's.
func defaultChangeRole(id policy.Identity) string {
	if len(id.Governance) > 0 {
		return id.Governance[0]
	}
	if len(id.Roles) > 0 {
		return id.Roles[0]
	}
	return policy.Approver
}

// heldBy is every role and team id holds.
func heldBy(id policy.Identity) []string {
	return append(append(append([]string{}, id.Roles...), id.Governance...), id.Teams...)
}

func holds(id policy.Identity, role string) bool { return slices.Contains(heldBy(id), role) }
