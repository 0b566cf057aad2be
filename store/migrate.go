package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// migrations lists the embedded migrations in order. Their numbers must run
// 1, 2, 3... without gaps: a gap would mean a lost file, and the database's
// version is simply the highest number applied.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %s: name must be NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: m[2], sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d (versions must run 1, 2, 3... without gaps)", m.version, m.name, i+1)
		}
	}
	return out, nil
}

// schemaMigrationsDDL is the one table the migrations cannot create
// themselves: it records which of them have run.
const schemaMigrationsDDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at TEXT NOT NULL
) STRICT`

// migrate brings the schema up to the newest embedded migration. Each
// migration runs in its own BEGIN IMMEDIATE transaction and re-reads the
// applied version after taking the lock, so two processes opening one file
// at once apply every migration exactly once: the second waits, then finds
// the work done.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	known := len(all)

	// Fast path without the write lock: an up-to-date database (every open
	// but the first) costs two small reads, and readers of a busy
	// database do not queue behind its writers.
	cur, err := schemaVersion(ctx, s.w)
	if err != nil {
		return s.busy(err)
	}
	if cur > known {
		return &schemaTooNewError{have: cur, know: known}
	}
	for cur < known {
		cur, err = s.migrateOne(ctx, all)
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSchema refuses a database whose schema is not this warroom's,
// without changing it: only Open migrates.
func (s *Store) checkSchema(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	cur, err := schemaVersion(ctx, s.w)
	if err != nil {
		return s.busy(err)
	}
	switch {
	case cur > len(all):
		return &schemaTooNewError{have: cur, know: len(all)}
	case cur < len(all):
		return &SchemaOutdatedError{Path: s.path, Have: cur, Want: len(all)}
	}
	return nil
}

// migrateOne applies the next migration not yet applied and returns the
// version the database is at afterwards.
func (s *Store) migrateOne(ctx context.Context, all []migration) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", s.busy(err))
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schemaMigrationsDDL); err != nil {
		return 0, fmt.Errorf("migrate: create schema_migrations: %w", s.busy(err))
	}
	cur, err := schemaVersion(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", s.busy(err))
	}
	if cur > len(all) {
		return 0, &schemaTooNewError{have: cur, know: len(all)}
	}
	if cur == len(all) {
		// Another process got here first.
		return cur, nil
	}
	m := all[cur] // versions are 1-based and gap-free
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return 0, fmt.Errorf("migrate %04d_%s: %w", m.version, m.name, s.busy(err))
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, formatTime(s.now())); err != nil {
		return 0, fmt.Errorf("migrate %04d_%s: record: %w", m.version, m.name, s.busy(err))
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("migrate %04d_%s: commit: %w", m.version, m.name, s.busy(err))
	}
	return m.version, nil
}

// schemaVersion is the highest migration applied, 0 for a new file.
func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	return int(v.Int64), nil
}

// SchemaVersion returns the database's schema version: the number of the
// last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v, err := schemaVersion(ctx, s.r)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", s.busy(err))
	}
	return v, nil
}
