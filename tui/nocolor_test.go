package tui

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

type env map[string]string

func (e env) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
func (e env) Getenv(k string) string { return e[k] }

// colour matches an SGR sequence that sets a foreground or background
// colour (30-37, 38;..., 40-47, 48;..., 90-97, 100-107).
var colour = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-8]|4[0-8]|9[0-7]|10[0-7])(;[0-9;]*)?m`)

// With NO_COLOR set the console draws no colour on a terminal that has
// it; every status still reads by symbol and word.
func TestNoColorHonoured(t *testing.T) {
	view := func(e env) string {
		r := lipgloss.NewRenderer(io.Discard, termenv.WithTTY(true), termenv.WithEnvironment(e))
		m := New(Deps{Source: fixture(), Renderer: r, Now: func() time.Time { return fixedNow }, Actor: "carol"})
		m.tick = func() tea.Cmd { return nil }
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		drain(t, m, m.Init())
		var all strings.Builder
		for _, k := range []string{"1", "5", "6", "8"} {
			m.Update(keyMsg(k))
			all.WriteString(m.View())
		}
		return all.String()
	}
	colourful := view(env{"TERM": "xterm-256color", "COLORTERM": "truecolor"})
	if !colour.MatchString(colourful) {
		t.Fatal("no colour even without NO_COLOR: the test proves nothing")
	}
	plain := view(env{"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": "1"})
	if loc := colour.FindStringIndex(plain); loc != nil {
		t.Fatalf("colour under NO_COLOR: %q", plain[max(0, loc[0]-20):loc[1]+20])
	}
	for _, want := range []string{"‖ paused", "✓ done", "◷ baking"} {
		if !strings.Contains(plain, want) {
			t.Errorf("status %q not shown as symbol and word", want)
		}
	}
}
