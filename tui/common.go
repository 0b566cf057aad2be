package tui

import (
	"time"

	"github.com/charmbracelet/lipgloss"
)

// Common is the context every component of one console shares. It holds
// no package-level state: a process serving many consoles makes one per
// console.
type Common struct {
	Width, Height int
	Styles        *Styles
	Keys          *GlobalKeys
	// Now is the console's clock, injected so tests are deterministic.
	Now func() time.Time
	// Location is where "local" time is; UTC is always shown too.
	Location *time.Location
	// Actor is the person at the keyboard; every command the console
	// issues will carry it.
	Actor string
	// Commander carries out commands; nil: a read-only console.
	Commander Commander
	// Gates waives and approves gates; nil: the Gates screen says the
	// console cannot.
	Gates GateActor
}

// Theme is the console's palette. Adaptive colours pick a shade for light
// or dark terminals; the renderer's profile drops them under NO_COLOR.
type Theme struct {
	Accent, Muted, OK, Active, Warn, Bad, Text lipgloss.AdaptiveColor
}

// DefaultTheme is the palette used unless an option replaces it.
func DefaultTheme() Theme {
	return Theme{
		Accent: lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#A48CFF"},
		Muted:  lipgloss.AdaptiveColor{Light: "#6B6B6B", Dark: "#8A8A8A"},
		OK:     lipgloss.AdaptiveColor{Light: "#1E7B34", Dark: "#5FD77F"},
		Active: lipgloss.AdaptiveColor{Light: "#0B5CAD", Dark: "#61AFEF"},
		Warn:   lipgloss.AdaptiveColor{Light: "#A05A00", Dark: "#E5C07B"},
		Bad:    lipgloss.AdaptiveColor{Light: "#B3261E", Dark: "#FF6B6B"},
		Text:   lipgloss.AdaptiveColor{Light: "#1A1A1A", Dark: "#E6E6E6"},
	}
}

// Styles are built once per console from a theme and a renderer.
type Styles struct {
	Header      lipgloss.Style
	Title       lipgloss.Style
	TabActive   lipgloss.Style
	TabInactive lipgloss.Style
	Muted       lipgloss.Style
	Label       lipgloss.Style
	Selected    lipgloss.Style
	ColumnHead  lipgloss.Style
	Status      lipgloss.Style
	Confirm     lipgloss.Style
	Error       lipgloss.Style
	// Tone colours a status word by what it means.
	Tone map[Tone]lipgloss.Style
}

// Tone is what a status means, whatever its symbol.
type Tone int

const (
	ToneNeutral Tone = iota
	ToneOK
	ToneActive
	ToneWarn
	ToneBad
)

// NewStyles builds the console's styles from r. Never pass nil: styles
// from the global renderer would follow the wrong terminal over SSH.
func NewStyles(r *lipgloss.Renderer, t Theme) *Styles {
	s := &Styles{
		Header:      r.NewStyle().Bold(true).Foreground(t.Accent),
		Title:       r.NewStyle().Bold(true),
		TabActive:   r.NewStyle().Bold(true).Foreground(t.Accent),
		TabInactive: r.NewStyle().Foreground(t.Muted),
		Muted:       r.NewStyle().Foreground(t.Muted),
		Label:       r.NewStyle().Bold(true).Foreground(t.Text),
		Selected:    r.NewStyle().Reverse(true),
		ColumnHead:  r.NewStyle().Bold(true).Underline(true),
		Status:      r.NewStyle().Foreground(t.Muted),
		Confirm:     r.NewStyle().Bold(true).Foreground(t.Warn),
		Error:       r.NewStyle().Foreground(t.Bad),
		Tone: map[Tone]lipgloss.Style{
			ToneNeutral: r.NewStyle().Foreground(t.Muted),
			ToneOK:      r.NewStyle().Foreground(t.OK),
			ToneActive:  r.NewStyle().Foreground(t.Active),
			ToneWarn:    r.NewStyle().Foreground(t.Warn),
			ToneBad:     r.NewStyle().Foreground(t.Bad),
		},
	}
	return s
}
