package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// stepClock returns a clock that advances one second per call, so every
// timestamp in a test is known and distinct.
func stepClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

func dbPath(t testing.TB) string { return filepath.Join(t.TempDir(), "warroom.db") }

func openStore(t testing.TB, path string, opts ...store.Option) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens the file directly, bypassing the store, to set up states the
// store would never produce.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func rec(kind model.Kind, name, spec string) model.Record {
	return model.Record{Kind: kind, Name: name, Spec: []byte(spec)}
}

// putOne is a Write function that puts one record and says so.
func putOne(r model.Record) func(context.Context, *store.Tx) (store.Change, error) {
	return func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		if err := tx.PutRecord(ctx, r); err != nil {
			return store.Change{}, err
		}
		return store.Change{
			Summary: fmt.Sprintf("put %s/%s", r.Kind, r.Name),
			Payload: map[string]string{"kind": string(r.Kind), "name": r.Name},
		}, nil
	}
}

// sqliteCLI runs the real sqlite3 shell on a database, the way someone
// tampering with the file would. Without the binary the test is skipped,
// except in CI, where a missing tool is a failure.
func sqliteCLI(t testing.TB, path, script string) {
	t.Helper()
	bin, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sqlite3 command not found (install it: apt-get install sqlite3): %v", err)
		}
		t.Skipf("sqlite3 command not found: %v", err)
	}
	out, err := exec.Command(bin, path, script).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s %q: %v\n%s", path, script, err, out)
	}
}
