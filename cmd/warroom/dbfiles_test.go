package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// creators are the only commands that may create or upgrade a database.
var creators = []string{"apply", "demo", "migrate"}

// needsDB are commands that must refuse a missing, empty or outdated
// database (exit 1, saying what to do); the others (validate, gen, version,
// plugins list/check/untrust) work without one but must not touch it.
var needsDB = []string{
	"", "plan", "graph", "release list", "env list", "service list", "service show",
	"audit list", "audit verify", "change create", "change list", "change sync",
	"deploy start", "deploy status", "deploy resume", "deploy skip", "deploy continue",
	"deploy pause", "deploy abort", "deploy rollback", "serve",
}

// dbCommands lists every runnable command but the creators, with
// placeholder arguments it accepts.
func dbCommands(t *testing.T) map[string][]string {
	root, _ := newRoot(&bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	out := map[string][]string{}
	walkCommands(root, func(c *cobra.Command) {
		name := strings.Join(path(c), " ")
		if slices.Contains(creators, name) {
			return
		}
		args, ok := minArgs(c, 0)
		if !ok {
			t.Fatalf("%s: no placeholder arguments accepted", name)
		}
		out[name] = append(path(c), args...)
	})
	for _, n := range needsDB {
		if _, ok := out[n]; !ok {
			t.Errorf("needsDB names %q, which is not a command", n)
		}
	}
	return out
}

// snapshot is the database file and its companions, to compare.
func snapshot(t *testing.T, db string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range []string{db, db + "-wal", db + "-shm", db + "-journal"} {
		if b, err := os.ReadFile(p); err == nil {
			out[filepath.Base(p)] = string(b)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// oldSchemaDB writes the database an earlier warroom left: every embedded
// migration but the last, applied as the store applies them.
func oldSchemaDB(t *testing.T, path string) (have int) {
	t.Helper()
	files, err := filepath.Glob(repo("store", "migrations", "*.sql"))
	if err != nil || len(files) < 2 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	sort.Strings(files)
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(`PRAGMA journal_mode=WAL`)
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`)
	name := regexp.MustCompile(`^(\d{4})_(.+)\.sql$`)
	for i, f := range files[:len(files)-1] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01T00:00:00.000000000Z')`, i+1, name.FindStringSubmatch(filepath.Base(f))[2])
	}
	return len(files) - 1
}

// TestReadersNeverCreateOrMigrate: every command but apply, demo and
// migrate leaves a missing database missing, an empty file empty and an
// old schema as it was, byte for byte; those that need a database exit 1
// saying what to do. Through the real binary.
func TestReadersNeverCreateOrMigrate(t *testing.T) {
	cmds := dbCommands(t)
	for _, state := range []struct {
		name  string
		setup func(t *testing.T, db string)
		want  string
	}{
		{"missing", func(*testing.T, string) {}, "no database at "},
		{"empty", func(t *testing.T, db string) {
			if err := os.WriteFile(db, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is an empty file, not a database: create it with 'warroom apply -f SPEC'"},
		{"old schema", func(t *testing.T, db string) { oldSchemaDB(t, db) }, "back it up, then upgrade it with 'warroom migrate'"},
	} {
		t.Run(state.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "warroom.db")
			state.setup(t, db)
			before := snapshot(t, db)
			env := []string{"WARROOM_DB=" + db, "WARROOM_LOG=" + filepath.Join(dir, "warroom.log")}
			for name, args := range cmds {
				r := runBin(t, dir, env, args...)
				if after := snapshot(t, db); !equalMaps(before, after) {
					t.Errorf("warroom %s changed the database files: %v -> %v", name, sortedKeys(before), sortedKeys(after))
					before = after
				}
				if slices.Contains(needsDB, name) && (r.code != exitError || !strings.Contains(r.stderr, state.want)) {
					t.Errorf("warroom %q: exit %d, want 1 saying %q\nstderr: %s", args, r.code, state.want, r.stderr)
				}
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestMigrateUpgradesOnPurpose: migrate upgrades an old database (and says
// from what to what), refuses to create one, and apply also upgrades; an
// empty file is made a database by apply only.
func TestMigrateUpgradesOnPurpose(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "old.db")
	have := oldSchemaDB(t, db)
	env := []string{"WARROOM_DB=" + db, "WARROOM_LOG=" + filepath.Join(dir, "warroom.log")}
	r := runBin(t, dir, env, "migrate")
	if r.code != 0 || r.stdout != "database "+db+": schema version "+strconv.Itoa(have)+" -> "+strconv.Itoa(have+1)+"\n" {
		t.Fatalf("migrate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, env, "migrate"); r.code != 0 || !strings.Contains(r.stdout, "is up to date") {
		t.Errorf("migrate again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, env, "release", "list"); r.code != 0 {
		t.Errorf("release list after migrate: exit %d\n%s", r.code, r.stderr)
	}

	missing := filepath.Join(dir, "none.db")
	r = runBin(t, dir, []string{"WARROOM_DB=" + missing}, "migrate")
	if _, err := os.Stat(missing); r.code != 1 || !strings.Contains(r.stderr, "no database at") || err == nil {
		t.Errorf("migrate without a database: exit %d (%s), file: %v", r.code, r.stderr, err)
	}

	old2 := filepath.Join(dir, "old2.db")
	oldSchemaDB(t, old2)
	if r := runBin(t, dir, []string{"WARROOM_DB=" + old2}, "apply", "-f", repo("testdata", "demo")); r.code != 0 {
		t.Errorf("apply on an old database: exit %d\n%s", r.code, r.stderr)
	}

	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	if r := runBin(t, dir, []string{"WARROOM_DB=" + empty}, "apply", "-f", repo("testdata", "demo")); r.code != 0 {
		t.Errorf("apply on an empty file: exit %d\n%s", r.code, r.stderr)
	}
	if r := runBin(t, dir, []string{"WARROOM_DB=" + empty}, "release", "list"); r.code != 0 {
		t.Errorf("release list after apply: exit %d\n%s", r.code, r.stderr)
	}
}

// TestApplyDryRunWritesNothing: a dry run creates no database (it compares
// against an empty one of its own), leaves an empty file empty, and does
// not upgrade an old schema.
func TestApplyDryRunWritesNothing(t *testing.T) {
	dir := t.TempDir()
	spec := repo("testdata", "demo")
	db := filepath.Join(dir, "none.db")
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o700)
	r := runBin(t, dir, []string{"WARROOM_DB=" + db, "TMPDIR=" + tmp}, "apply", "-f", spec, "--dry-run")
	if _, err := os.Stat(db); r.code != 0 || !strings.Contains(r.stdout, "dry run, nothing written: ") || err == nil {
		t.Errorf("dry run without a database: exit %d, file %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the dry run left %v in TMPDIR", left)
	}

	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	r = runBin(t, dir, []string{"WARROOM_DB=" + empty}, "apply", "-f", spec, "--dry-run")
	if fi, _ := os.Stat(empty); r.code != 0 || fi.Size() != 0 || len(snapshot(t, empty)) != 1 {
		t.Errorf("dry run on an empty file: exit %d, size %d\n%s", r.code, fi.Size(), r.stderr)
	}

	old := filepath.Join(dir, "old.db")
	oldSchemaDB(t, old)
	before := snapshot(t, old)
	r = runBin(t, dir, []string{"WARROOM_DB=" + old}, "apply", "-f", spec, "--dry-run")
	if r.code != 1 || !strings.Contains(r.stderr, "'warroom migrate'") || !equalMaps(before, snapshot(t, old)) {
		t.Errorf("dry run on an old schema: exit %d\n%s", r.code, r.stderr)
	}
}
