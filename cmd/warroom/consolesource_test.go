package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/warroom/warroom/store"
)

// consoleApp is an app as the console command has it: the world's
// database and plugins, acting as tester.
func (w *changeWorld) consoleApp(t *testing.T) *app {
	t.Helper()
	_, a := newRoot(io.Discard, io.Discard, func(string) string { return "" })
	a.dbPath, a.pluginsFile, a.actor = w.c.db, w.plugins, "tester"
	a.resolvePluginGlobals(nil)
	t.Cleanup(a.closePlugins)
	return a
}

func TestConsoleSourceChangesAndPlugins(t *testing.T) {
	w := newChangeWorld(t)
	a := w.consoleApp(t)
	ctx := context.Background()
	s, err := a.openExisting(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// The console files a change as the person at the keyboard, as the
	// policy resolves them when the key is pressed (here, in open mode
	// with no --as, the OS login), not as the TUI names them.
	id, err := (&consoleCommander{a: a, s: s}).FileChange(ctx, "train", "someone else")
	if err != nil || id != "CHG-0001" {
		t.Fatalf("FileChange: %q %v", id, err)
	}
	src := newConsoleSource(a, s)
	now := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	src.now = func() time.Time { return now }
	// The first load does not wait for the plugin host: the plugins are
	// pending, and the version moves once they answered.
	snap, err := src.Load(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.PluginsPending || snap.PluginsKnown {
		t.Fatalf("first load: pending %v known %v, want pending", snap.PluginsPending, snap.PluginsKnown)
	}
	first := snap.Version
	settle(t, src)
	if v, err := src.Changed(ctx); err != nil || v == first {
		t.Fatalf("Changed %d (%v): the plugins answered but the version did not move", v, err)
	}
	snap, err = src.Load(ctx, 100)
	if err != nil || snap.PluginsPending {
		t.Fatal(err, snap.PluginsPending)
	}
	if len(snap.Changes) != 1 || snap.Changes[0].ID != "CHG-0001" || snap.Changes[0].Requester != osLogin(a.getenv) ||
		snap.Changes[0].System != "tickets" || snap.Changes[0].State != "submitted" {
		t.Fatalf("changes: %+v", snap.Changes)
	}
	if !snap.PluginsKnown || len(snap.Plugins) != 1 || snap.Plugins[0].Name != "tickets" || !snap.Plugins[0].Healthy ||
		snap.Plugins[0].TrustSource != "database" {
		t.Fatalf("plugins: known %v %+v", snap.PluginsKnown, snap.Plugins)
	}
	v, err := src.Changed(ctx)
	if err != nil || v != snap.Version {
		t.Fatalf("Changed %d (%v) after a load at %d with nothing changed", v, err, snap.Version)
	}

	// A plugin stops being trusted: within the cache's life nothing moves,
	// after it the version does.
	w.c.ok("--plugins", w.plugins, "plugins", "untrust", "tickets")
	now = now.Add(time.Second)
	if v2, _ := src.Changed(ctx); v2 == v {
		t.Fatal("untrusting (an audited write) did not move the version")
	} else {
		v = v2
	}
	now = now.Add(pluginListTTL)
	if v3, _ := src.Changed(ctx); v3 == v {
		t.Fatal("the plugins' report changed but the version did not")
	}
	snap, err = src.Load(ctx, 100)
	if err != nil || snap.Plugins[0].Trusted {
		t.Fatalf("after untrust: %+v %v", snap.Plugins, err)
	}
}

// The console's Plugins screen shows a plugin's last fault from the
// store, though this console never saw it: the process driving a run did.
func TestConsoleSourceShowsRecordedFaults(t *testing.T) {
	w := newChangeWorld(t)
	a := w.consoleApp(t)
	ctx := context.Background()
	s, err := a.openExisting(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	if err := s.RecordPluginFault(ctx, store.PluginFault{Name: "tickets", Fault: "timeout", Call: "GetChange",
		Message: "plugin tickets: GetChange: timed out after 10s", At: at, Process: "warroom serve (pid 7 on war-room)"}); err != nil {
		t.Fatal(err)
	}
	src := newConsoleSource(a, s)
	src.refreshPlugins(ctx)
	settle(t, src)
	snap, err := src.Load(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := "plugin tickets: GetChange: timed out after 10s (at 2026-12-06 21:00:00 UTC, seen by warroom serve (pid 7 on war-room))"
	if len(snap.Plugins) != 1 || snap.Plugins[0].Fault != "timeout" || snap.Plugins[0].LastError != want {
		t.Fatalf("plugins: %+v\nwant last error %q", snap.Plugins, want)
	}
}

// settle waits, with a deadline, for the console source's first report
// on the plugins.
func settle(t *testing.T, src *consoleSource) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := src.settle(ctx); err != nil {
		t.Fatalf("the plugins' first report: %v", err)
	}
}
