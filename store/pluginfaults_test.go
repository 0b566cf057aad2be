package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/store"
)

// The last fault of each plugin is kept, whichever process recorded it,
// and an older fault never replaces a newer one.
func TestPluginFaults(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	a, b := openStore(t, path), openStore(t, path) // two processes' handles
	t0 := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)

	if got, err := a.PluginFaults(ctx); err != nil || len(got) != 0 {
		t.Fatalf("no faults yet: %v, %v", got, err)
	}
	rec := func(s *store.Store, f store.PluginFault) {
		t.Helper()
		if err := s.RecordPluginFault(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	rec(a, store.PluginFault{Name: "exec", Fault: "timeout", Call: "Deploy", Message: "timed out after 10s", At: t0, Process: "warroom deploy start (pid 1)"})
	rec(b, store.PluginFault{Name: "exec", Fault: "crashed", Call: "Status", Message: "exit status 2", At: t0.Add(time.Second), Process: "warroom serve (pid 2)"})
	rec(a, store.PluginFault{Name: "exec", Fault: "refused", Call: "Deploy", Message: "late", At: t0.Add(-time.Minute), Process: "warroom (pid 3)"})
	rec(a, store.PluginFault{Name: "scrape", Fault: "malformed", Call: "Query", Message: strings.Repeat("é", 5000), At: t0, Process: "p"})

	got, err := b.PluginFaults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := store.PluginFault{Name: "exec", Fault: "crashed", Call: "Status", Message: "exit status 2", At: t0.Add(time.Second), Process: "warroom serve (pid 2)"}
	if got["exec"] != want {
		t.Errorf("exec: %+v, want %+v", got["exec"], want)
	}
	if m := got["scrape"].Message; len(m) > 4096+len("…") || !strings.HasSuffix(m, "…") || !strings.HasPrefix(m, "é") {
		t.Errorf("a long message is stored whole or broken: %d bytes", len(m))
	}
	if err := a.RecordPluginFault(ctx, store.PluginFault{Name: "exec", Fault: "on fire", At: t0.Add(time.Hour)}); err == nil {
		t.Error("an unknown fault class was stored")
	}
}
