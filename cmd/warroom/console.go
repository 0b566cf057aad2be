package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/warroom/warroom/tui"
)

// openConsole runs the war-room console on the database until the
// operator quits.
func (a *app) openConsole(cmd *cobra.Command) error {
	if !term.IsTerminal(int(os.Stdout.Fd())) || !term.IsTerminal(int(os.Stdin.Fd())) {
		return withCode(exitUsage, errors.New("the console needs a terminal: run warroom in one, or use its commands ('warroom --help')"))
	}
	ctx := cmd.Context()
	s, err := a.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	m := tui.New(tui.Deps{
		Source:   tui.NewStoreSource(s),
		Renderer: lipgloss.NewRenderer(os.Stdout),
		Now:      time.Now,
		Actor:    a.actor,
	})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}
