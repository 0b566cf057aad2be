package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/store"
)

// The objects version moves with every insert, update and delete of an
// object — also one made behind the store's back — and with nothing else.
func TestObjectsVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	s := openStore(t, path)
	version := func() int64 {
		t.Helper()
		v, err := s.ObjectsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	steps := []struct {
		what  string
		do    func()
		moves bool
	}{
		{"insert", func() { mustWrite(t, s, putOne(rec("team", "payments", `{"name":"payments"}`))) }, true},
		{"update", func() { mustWrite(t, s, putOne(rec("team", "payments", `{"name":"payments","chat":"#pay"}`))) }, true},
		{"trust a plugin", func() {
			mustWrite(t, s, func(ctx context.Context, tx *store.Tx) (store.Change, error) {
				return store.Change{Summary: "trusted"}, tx.TrustPlugin(ctx, "exec", strings.Repeat("ab", 32), "/bin/exec", "t")
			})
		}, false},
		{"delete", func() {
			mustWrite(t, s, func(ctx context.Context, tx *store.Tx) (store.Change, error) {
				return store.Change{Summary: "deleted"}, tx.DeleteRecord(ctx, "team", "payments")
			})
		}, true},
		{"sqlite3 behind the store's back", func() {
			sqliteCLI(t, path, `INSERT INTO objects (kind, name, spec, digest, created_at, updated_at) VALUES ('team', 'x', '{}', 'sha256:0', 'now', 'now');`)
		}, true},
	}
	for _, st := range steps {
		before := version()
		st.do()
		if moved := version() != before; moved != st.moves {
			t.Errorf("%s: moved %v, want %v", st.what, moved, st.moves)
		}
	}
	if version() <= v0 {
		t.Error("the version went back")
	}
}

func mustWrite(t *testing.T, s *store.Store, fn func(context.Context, *store.Tx) (store.Change, error)) {
	t.Helper()
	if _, err := s.Write(context.Background(), "tester", "test", fn); err != nil {
		t.Fatal(err)
	}
}
