package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// TestConsoleSeesAnotherProcess: a console open on a database shows a
// command run by another process (the CLI) at its next poll, twice a
// second. The console here is the real program (teatest) over the real
// store; the change comes from a separate warroom process.
func TestConsoleSeesAnotherProcess(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))
	var run struct {
		ID string `json:"run"`
	}
	c.json(&run, "deploy", "start", "storefront-2026-12", "--outside-window", "console test")

	ctx := context.Background()
	s, err := store.OpenExisting(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := lipgloss.NewRenderer(&bytes.Buffer{})
	r.SetColorProfile(termenv.Ascii)
	m := tui.New(tui.Deps{Source: tui.NewStoreSource(s), Renderer: r, Actor: "tester"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	t.Cleanup(func() { _ = tm.Quit() })
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("storefront-2026-12")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))

	cmd := exec.Command(warroomBin, "--as", "other", "deploy", "pause", run.ID, "--reason", "from another process")
	cmd.Env = append(os.Environ(), "WARROOM_DB="+c.db)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy pause: %v\n%s", err, out)
	}
	paused := time.Now()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("‖ paused")) },
		teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	// The poll is twice a second; the figure is reported, the deadline above
	// only catches a console that never notices.
	t.Logf("the console showed the other process's pause %s after it committed", time.Since(paused).Round(10*time.Millisecond))
}
