package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/store"
)

func newServeCmd(a *app) *cobra.Command {
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Drive every unfinished run, taking over those of dead processes",
		Long: `Run warroom's engine as a long-lived process: every run that is not finished
and whose lease is free (never driven, or held by a process that died) is
driven here until it ends. Runs started with 'deploy start' without
--follow are picked up within --poll. Stops on Ctrl-C or SIGTERM; runs in
flight stay as they are and resume in the next process that drives them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text"); err != nil {
				return err
			}
			// A poll of 0 would query the database in a busy loop.
			if poll <= 0 {
				return usageError{fmt.Errorf("--poll must be positive, not %s", poll)}
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			stop, err := a.serveMetrics()
			if err != nil {
				return err
			}
			defer stop()
			a.printf("%s  serving: driving unfinished runs of %s\n", time.Now().Format("15:04:05"), a.dbPath)
			return a.serve(ctx, s, poll)
		},
	}
	cmd.Flags().DurationVar(&poll, "poll", 2*time.Second, "how often to look for runs to drive (positive)")
	return cmd
}

// serve drives runs until ctx ends.
func (a *app) serve(ctx context.Context, s *store.Store, poll time.Duration) error {
	var (
		mu      sync.Mutex
		driving = map[string]bool{}
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	for {
		runs, err := s.Runs(ctx, "", 100)
		if err != nil && ctx.Err() == nil {
			return err
		}
		for _, r := range runs {
			mu.Lock()
			busy := driving[r.ID]
			mu.Unlock()
			if r.State.Terminal() || busy {
				continue
			}
			e, err := a.engine(ctx, s, r.ID+": ")
			if err != nil {
				return err
			}
			mu.Lock()
			driving[r.ID] = true
			mu.Unlock()
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				out, err := e.Drive(ctx, id)
				mu.Lock()
				delete(driving, id)
				mu.Unlock()
				switch {
				case errors.Is(err, deploy.ErrLeaseHeld), ctx.Err() != nil:
				case err != nil:
					a.printf("%s  %s: %v\n", time.Now().Format("15:04:05"), id, err)
				default:
					a.printf("%s  %s: %s\n", time.Now().Format("15:04:05"), id, out.State)
				}
			}(r.ID)
		}
		if err := (realClock{}).Sleep(ctx, poll); err != nil {
			return nil
		}
	}
}
