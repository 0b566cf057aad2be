package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMigrate0007KeepsWaivers: a database from before 0007 with a waiver
// in it upgrades, and the waiver reads back with the new columns empty.
func TestMigrate0007KeepsWaivers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	_, newest := oldDatabaseAt(t, path, 6)
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO gate_waivers (release, env, gate, service, approver, reason, expires_at, created_at)
		VALUES ('r1', 'staging', 'coverage', 'checkout', 'bob', 'flaky', '2026-12-08T00:00:00.000000000Z', '2026-12-06T00:00:00.000000000Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v != newest {
		t.Errorf("version %d after the upgrade, want %d", v, newest)
	}
	rec, err := s.GateRecords(ctx, "r1")
	if err != nil || len(rec.Waivers) != 1 {
		t.Fatalf("waivers: %+v %v", rec.Waivers, err)
	}
	if w := rec.Waivers[0]; w.Approver != "bob" || w.Env != "staging" || w.Via != "" || w.RequestedBy != "" || w.Expires.IsZero() {
		t.Errorf("waiver after the upgrade: %+v", w)
	}
	if len(rec.Evidence) != 0 || len(rec.SignOffs) != 0 {
		t.Errorf("new tables not empty: %+v", rec)
	}
}
