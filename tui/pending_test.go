package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// While the plugin host is still being asked (the console's first
// seconds), Overview and Plugins say so, not that nothing answers.
func TestPluginsPending(t *testing.T) {
	src := fixture()
	src.snap.PluginsKnown, src.snap.AlertsKnown, src.snap.PluginsPending = false, false, true
	m := loaded(t, src, 120, 40)
	if v := m.View(); !strings.Contains(v, "asking the monitoring plugins…") || strings.Contains(v, "no alert source answering") {
		t.Errorf("Overview while pending:\n%s", v)
	}
	m.Update(keyMsg("9"))
	if v := m.View(); !strings.Contains(v, "Asking the plugin host about the plugins…") || strings.Contains(v, "no plugin host") {
		t.Errorf("Plugins while pending:\n%s", v)
	}
	src.set(func(s *Snapshot) { s.PluginsPending = false })
	drain(t, m, func() tea.Msg { return tickMsg{} })
	if v := m.View(); !strings.Contains(v, "no plugin host") {
		t.Errorf("Plugins once the host did not answer:\n%s", v)
	}
}
