package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/warroom/warroom/store/fsmode"
)

// oldDatabase makes the database an earlier warroom left: every migration
// but the last applied, as migrateOne applies them.
func oldDatabase(t *testing.T, path string) (have, want int) {
	t.Helper()
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return oldDatabaseAt(t, path, len(all)-1)
}

// oldDatabaseAt writes a database at path as warroom left it at schema
// version n.
func oldDatabaseAt(t *testing.T, path string, n int) (have, want int) {
	t.Helper()
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA journal_mode=WAL`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schemaMigrationsDDL); err != nil {
		t.Fatal(err)
	}
	for _, m := range all[:n] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%04d: %v", m.version, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, '2026-01-01T00:00:00.000000000Z')`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	return n, len(all)
}

// TestOpenExistingNeverCreatesOrMigrates: a missing file, an empty one and
// an old schema are refused, and left exactly as they were; Open creates
// and migrates.
func TestOpenExistingNeverCreatesOrMigrates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenExisting(ctx, empty)
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "empty") {
		t.Errorf("OpenExisting on an empty file: %v, want ErrNoDatabase saying it is empty", err)
	}
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Errorf("the empty file became %d bytes", fi.Size())
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(empty + suffix); err == nil {
			t.Errorf("%s%s was created", empty, suffix)
		}
	}

	old := filepath.Join(dir, "old.db")
	have, want := oldDatabase(t, old)
	before, _ := os.ReadFile(old)
	_, err = OpenExisting(ctx, old)
	var se *SchemaOutdatedError
	if !errors.Is(err, ErrSchemaOutdated) || !errors.As(err, &se) || se.Have != have || se.Want != want {
		t.Fatalf("OpenExisting on schema %d: %v, want a SchemaOutdatedError %d -> %d", have, err, have, want)
	}
	if after, _ := os.ReadFile(old); !bytes.Equal(before, after) {
		t.Error("OpenExisting changed an old database")
	}
	s, err := Open(ctx, old)
	if err != nil {
		t.Fatalf("Open migrates an old database: %v", err)
	}
	if v, _ := s.SchemaVersion(ctx); v != want {
		t.Errorf("after Open: version %d, want %d", v, want)
	}
	s.Close()
	s, err = OpenExisting(ctx, old)
	if err != nil {
		t.Fatalf("OpenExisting after the migration: %v", err)
	}
	s.Close()

	foreign := filepath.Join(dir, "foreign.db")
	db, _ := sql.Open("sqlite3", foreign)
	if _, err := db.Exec(`CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := OpenExisting(ctx, foreign); !errors.Is(err, ErrSchemaOutdated) || !strings.Contains(err.Error(), "not a warroom database") {
		t.Errorf("OpenExisting on another program's database: %v", err)
	}
}

// TestDatabaseFileModes: a database Open creates, and its -wal and -shm
// files, have exactly the store's mode under any umask (SQLite gives the
// -wal and -shm files the database file's permissions).
func TestDatabaseFileModes(t *testing.T) {
	ctx := context.Background()
	for _, m := range []fsmode.Mode{fsmode.Private, fsmode.Shared} {
		for _, umask := range []int{0o022, 0o002, 0o077} {
			old := syscall.Umask(umask)
			path := filepath.Join(t.TempDir(), "w.db")
			s, err := Open(ctx, path, WithMode(m))
			syscall.Umask(old)
			if err != nil {
				t.Fatal(err)
			}
			// The -wal and -shm files exist while the store is open.
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatalf("%v umask %03o: %v", m, umask, err)
				}
				if got := fi.Mode() & fs.ModePerm; got != m.File() {
					t.Errorf("%v umask %03o: %s is %v, want %v", m, umask, filepath.Base(p), got, m.File())
				}
			}
			s.Close()
		}
	}
}
