package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

func newAuditCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read and verify the tamper-evident audit trail",
	}
	var f store.AuditFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List audit events, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			// The store reads a negative limit as none: refused, not "all".
			if f.Limit < 0 {
				return usageError{fmt.Errorf("--limit must be 0 (all) or more, got %d", f.Limit)}
			}
			s, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			evs, err := s.AuditEvents(cmd.Context(), f)
			if err != nil {
				return err
			}
			if a.json() {
				if evs == nil {
					evs = []model.AuditEvent{}
				}
				return a.writeJSON(evs)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tACTOR\tCOMMAND\tSUMMARY")
			for _, e := range evs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format(time.DateTime), e.Actor, e.Command, e.Summary)
			}
			return tw.Flush()
		},
	}
	list.Flags().Int64Var(&f.AfterSeq, "after", 0, "only events after this sequence number")
	list.Flags().IntVar(&f.Limit, "limit", 0, "at most this many events (0: all)")
	list.Flags().StringVar(&f.Actor, "actor", "", "only events by this actor")
	list.Flags().StringVar(&f.Command, "command", "", "only events of this command")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit chain; exit 1 naming the first bad event",
		Long: `Recompute the hash chain of the audit trail. Exit 0 when it is intact;
exit 1, naming the first bad sequence number, when any event was edited,
deleted or reordered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			s, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := s.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				if err := a.writeJSON(rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintf(a.stdout, "ok: audit chain intact (%d %s)\n", rep.Events, plural(int(rep.Events), "event", "events"))
			} else {
				fmt.Fprintf(a.stdout, "TAMPERED: first bad event is %d: %s\n", rep.FirstBad, rep.Reason)
			}
			if !rep.OK {
				return silentExit(exitError)
			}
			return nil
		},
	}
	cmd.AddCommand(list, verify)
	return cmd
}
