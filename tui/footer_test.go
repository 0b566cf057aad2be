package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/x/ansi"

	"github.com/warroom/warroom/core/deploy"
)

// footerWidth is the short help's width unbounded: what the footer needs
// without being cut.
func footerWidth(m *Model) (int, string) {
	h := help.New()
	h.Width = 0
	v := h.ShortHelpView(m.keyMap().ShortHelp())
	return ansi.StringWidth(v), v
}

// Every screen's footer fits 80 columns whole, in every state that
// changes its keys: a run paused, running, ended, none; a detail page
// open; a prompt being typed.
func TestFooterFits80(t *testing.T) {
	states := map[string]func(*Snapshot){
		"paused":  func(*Snapshot) {},
		"running": func(s *Snapshot) { withStates(s, nil) },
		"ended": func(s *Snapshot) {
			withStates(s, nil)
			s.Run.State = deploy.RunSucceeded
		},
		"no run": func(s *Snapshot) { s.Run, s.Runs = nil, nil },
	}
	for name, set := range states {
		src := fixture()
		set(&src.snap)
		m := loaded(t, src, 80, 24)
		for i := range m.screens {
			m.setActive(i)
			check := func(how string) {
				t.Helper()
				if w, v := footerWidth(m); w > 80 {
					t.Errorf("%s, %s%s: footer is %d cells: %q", name, m.Active(), how, w, v)
				}
				if l := strings.Split(m.View(), "\n"); strings.Contains(l[len(l)-1], "…") {
					t.Errorf("%s, %s%s: footer cut: %q", name, m.Active(), how, l[len(l)-1])
				}
			}
			check("")
			m.Update(keyMsg("enter"))
			check(" after enter")
			m.Update(keyMsg("esc"))
			if m.Active() == "Gates" {
				m.c.Gates = &refusingGates{}
				m.Update(keyMsg("w"))
				check(" typing a waiver's reason")
				m.Update(keyMsg("esc"))
			}
		}
	}
}

// The header names the person and, in open mode, says so in words on
// every screen, at both sizes; an undeclared user reads as a viewer.
func TestHeaderPersonAndMode(t *testing.T) {
	for _, c := range []struct {
		name string
		id   *Identity
		want []string
		no   []string
	}{
		{"open", &Identity{Login: "carol", Open: true}, []string{"carol ⚠ OPEN MODE"}, nil},
		{"enforced", &Identity{Person: "carol", Login: "carol", Roles: []string{"captain", "approver"}}, []string{"carol"}, []string{"OPEN MODE"}},
		{"undeclared", &Identity{Login: "mallory"}, []string{"mallory viewer (undeclared)"}, []string{"OPEN MODE"}},
	} {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			src := fixture()
			src.snap.Identity = c.id
			m := loaded(t, src, size[0], size[1])
			for i := range m.screens {
				m.setActive(i)
				v := m.View()
				checkFits(t, v, size[0], size[1])
				head := strings.Join(strings.Split(v, "\n")[:2], "\n")
				for _, w := range c.want {
					if !strings.Contains(head, w) {
						t.Errorf("%s %dx%d %s: header lacks %q:\n%s", c.name, size[0], size[1], m.Active(), w, head)
					}
				}
				for _, w := range c.no {
					if strings.Contains(head, w) {
						t.Errorf("%s %dx%d %s: header has %q:\n%s", c.name, size[0], size[1], m.Active(), w, head)
					}
				}
			}
		}
	}
	src := fixture()
	m := loaded(t, src, 120, 40)
	if h := m.View(); !strings.Contains(h, "carol [captain,approver] · Fri 15:30:00 CET") {
		t.Errorf("roles not shown where there is room:\n%s", h)
	}
}
