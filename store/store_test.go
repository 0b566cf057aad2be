package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/store"
)

func TestOpenCreatesAndMigrates(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path)
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v < 1 {
		t.Fatalf("schema version %d after open, want >= 1", v)
	}

	// Every table the product needs exists, with the migration recorded once.
	db := rawDB(t, path)
	for _, table := range []string{
		"schema_migrations", "objects", "audit_events", "audit_head",
		"deploy_runs", "run_plans", "run_steps", "step_transitions", "artifacts", "artifact_signatures",
		"gate_results", "gate_waivers", "change_requests", "change_approvals",
		"canary_judgements", "metric_samples", "env_reservations", "feature_toggles",
		"readiness_signoffs", "config_values", "plugin_trust", "incidents",
	} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path)
	if _, err := s.Write(ctx, "alice", "apply", putOne(rec("team", "payments", `{"name":"payments"}`))); err != nil {
		t.Fatal(err)
	}
	want, _ := s.SchemaVersion(ctx)
	s.Close()

	for i := range 3 {
		s, err := store.Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		v, _ := s.SchemaVersion(ctx)
		recs, err := s.Records(ctx)
		s.Close()
		if err != nil || v != want || len(recs) != 1 {
			t.Fatalf("reopen %d: version %d (want %d), %d records (want 1), err %v", i, v, want, len(recs), err)
		}
	}
	var rows int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != want {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration)", rows, want)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path)
	known, _ := s.SchemaVersion(ctx)
	s.Close()

	future := known + 41
	if _, err := rawDB(t, path).Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', '2030-01-01T00:00:00.000000000Z')`, future); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(ctx, path)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open: err = %v, want ErrSchemaTooNew", err)
	}
	want := fmt.Sprintf("database schema version %d is newer than this warroom (knows up to %d): upgrade warroom", future, known)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q\nshould name %s and say %q", err, path, want)
	}
}

func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)

	_, err := store.OpenExisting(ctx, path)
	if !errors.Is(err, store.ErrNoDatabase) || !strings.Contains(err.Error(), path) {
		t.Fatalf("OpenExisting on no file: err = %v, want ErrNoDatabase naming the path", err)
	}
	if _, serr := os.Stat(path); !os.IsNotExist(serr) {
		t.Fatalf("OpenExisting created %s", path)
	}

	openStore(t, path).Close()
	s, err := store.OpenExisting(ctx, path)
	if err != nil {
		t.Fatalf("OpenExisting on a database: %v", err)
	}
	s.Close()
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"empty path", "", "no database path"},
		{"missing directory", filepath.Join(dir, "nope", "warroom.db"), "does not exist"},
		{"not a database", notDB, "not a database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := store.Open(ctx, tc.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPathWithURICharacters(t *testing.T) {
	// The DSN is a file: URI; a path with '?', '#' or '%' must still name
	// the file itself.
	path := filepath.Join(t.TempDir(), "war room?#%41.db")
	openStore(t, path).Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not created at %q: %v", path, err)
	}
}

func TestDataVersion(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	a := openStore(t, path)
	b := openStore(t, path)

	before, err := a.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same, _ := a.DataVersion(ctx)
	if same != before {
		t.Fatalf("data version moved without a write: %d -> %d", before, same)
	}
	for i, w := range []*store.Store{b, a} { // another process, then our own writer
		if _, err := w.Write(ctx, "alice", "apply", putOne(rec("team", fmt.Sprint("t", i), `{}`))); err != nil {
			t.Fatal(err)
		}
		after, err := a.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after == before {
			t.Fatalf("write %d: data version still %d", i, after)
		}
		before = after
	}
}

func TestBusyTimeout(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	holder := openStore(t, path)
	waiter := openStore(t, path, store.WithBusyTimeout(20*time.Millisecond))

	// The holder's fn runs no statement at all: the waiter still finds the
	// file locked, because write transactions take the lock at BEGIN.
	locked, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := holder.Write(ctx, "alice", "hold", func(context.Context, *store.Tx) (store.Change, error) {
			close(locked)
			<-release
			return store.Change{}, nil
		})
		done <- err
	}()
	<-locked
	_, err := waiter.Write(ctx, "bob", "apply", putOne(rec("team", "x", `{}`)))
	close(release)
	if herr := <-done; herr != nil {
		t.Fatalf("holder: %v", herr)
	}

	if !errors.Is(err, store.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	var be *store.BusyError
	if !errors.As(err, &be) || be.Path != path || be.Timeout != 20*time.Millisecond {
		t.Fatalf("err = %#v, want a *BusyError for %s with timeout 20ms", err, path)
	}
	for _, want := range []string{path, "busy for longer than 20ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
