package tui

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/warroom/warroom/store"
)

// An empty database loads: no run yet, an intact empty audit chain.
func TestStoreSourceEmpty(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "warroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src := NewStoreSource(st)
	snap, err := src.Load(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Run != nil || len(snap.Audit) != 0 || !snap.AuditVerify.OK {
		t.Fatalf("empty store: %+v", snap)
	}
	if _, err := src.Changed(ctx); err != nil {
		t.Fatal(err)
	}
}
