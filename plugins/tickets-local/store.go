package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store/fsmode"
)

// schemaVersion is the PRAGMA user_version of the schema below.
const schemaVersion = 1

const schema = `
CREATE TABLE changes (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	id              TEXT UNIQUE,          -- CHG-000123, set right after the insert
	idempotency_key TEXT UNIQUE,
	state           TEXT NOT NULL,
	class           TEXT NOT NULL,
	round           INTEGER NOT NULL DEFAULT 1, -- approval round; a resubmission starts a new one
	spec            TEXT NOT NULL,        -- sdk.ChangeSpec as JSON
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
);
CREATE TABLE approvals (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	change_seq INTEGER NOT NULL REFERENCES changes(seq),
	round      INTEGER NOT NULL,
	approver   TEXT NOT NULL,
	role       TEXT NOT NULL DEFAULT '',
	decision   TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
	comment    TEXT NOT NULL DEFAULT '',
	at         TEXT NOT NULL
);
CREATE INDEX approvals_by_change ON approvals(change_seq, round);
CREATE TABLE comments (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	change_seq INTEGER NOT NULL REFERENCES changes(seq),
	author     TEXT NOT NULL,
	body       TEXT NOT NULL,
	at         TEXT NOT NULL
);
CREATE INDEX comments_by_change ON comments(change_seq);
-- Every state change, for the record.
CREATE TABLE transitions (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	change_seq INTEGER NOT NULL REFERENCES changes(seq),
	from_state TEXT NOT NULL,
	to_state   TEXT NOT NULL,
	actor      TEXT NOT NULL DEFAULT '',
	role       TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	at         TEXT NOT NULL
);
CREATE INDEX transitions_by_change ON transitions(change_seq);
CREATE TABLE outbox (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	id              TEXT UNIQUE,          -- MSG-000123
	idempotency_key TEXT UNIQUE,
	recipients      TEXT NOT NULL,        -- JSON array
	subject         TEXT NOT NULL,
	body            TEXT NOT NULL,
	severity        TEXT NOT NULL,
	change_id       TEXT REFERENCES changes(id),
	channel         TEXT NOT NULL,
	at              TEXT NOT NULL
);
`

// openDB opens (creating if need be) the tracker's database and brings
// its schema up to date.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	if err := fsmode.Private.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("tickets database %s: %w", path, err)
	}
	// Created here with exactly its directory's mode (owner-only, or the
	// group's too when warroom shares the state directory): SQLite would
	// make it 0644 less the umask, and gives -wal and -shm its permissions.
	mode, err := fsmode.Of(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("tickets database %s: %w", path, err)
	}
	if f, err := mode.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("tickets database %s: %w", path, err)
	}
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := "file:" + escaped + "?mode=rwc&_busy_timeout=5000&_journal_mode=WAL&_synchronous=FULL" +
		"&_foreign_keys=on&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("tickets database %s: %w", path, err)
	}
	// One connection: the plugin's own calls queue here instead of
	// contending for SQLite's lock; another process waits on the busy
	// timeout.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("tickets database %s: %w", path, err)
	}
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		switch {
		case v == schemaVersion:
			return nil
		case v > schemaVersion:
			return fmt.Errorf("schema version %d is newer than this plugin's %d: use a newer tickets-local", v, schemaVersion)
		}
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("creating the schema: %w", err)
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion))
		return err
	})
}

// inTx runs fn in one (immediate) transaction, committing if it returns
// nil.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable marks a database that is locked or gone as retryable.
func unavailable(err error) error {
	if msg := err.Error(); strings.Contains(msg, "database is locked") || strings.Contains(msg, "busy") {
		return sdk.Errorf(sdk.CodeUnavailable, "tickets database busy: %v", err)
	}
	return err
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// changeRow is a change's own row.
type changeRow struct {
	seq   int64
	id    string
	state string
	class string
	round int
	spec  sdk.ChangeSpec
	at    [2]time.Time // created, updated
}

var errNoChange = errors.New("no such change")

// loadRow reads one change's row by id.
func loadRow(ctx context.Context, tx *sql.Tx, id string) (changeRow, error) {
	return scanRow(tx.QueryRowContext(ctx,
		`SELECT seq, id, state, class, round, spec, created_at, updated_at FROM changes WHERE id = ?`, id))
}

func scanRow(row *sql.Row) (changeRow, error) {
	var r changeRow
	var spec, created, updated string
	err := row.Scan(&r.seq, &r.id, &r.state, &r.class, &r.round, &spec, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return r, errNoChange
	}
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.spec); err != nil {
		return r, fmt.Errorf("change %s: stored spec: %w", r.id, err)
	}
	if r.at[0], err = parseTime(created); err != nil {
		return r, fmt.Errorf("change %s: %w", r.id, err)
	}
	if r.at[1], err = parseTime(updated); err != nil {
		return r, fmt.Errorf("change %s: %w", r.id, err)
	}
	return r, nil
}

// loadChange reads a whole change: its row, approvals and comments.
func loadChange(ctx context.Context, tx *sql.Tx, r changeRow, baseURL string) (sdk.Change, error) {
	c := sdk.Change{
		ID: r.id, URL: baseURL + r.id, State: r.state, Spec: r.spec,
		CreatedAt: r.at[0], UpdatedAt: r.at[1],
	}
	rows, err := tx.QueryContext(ctx,
		`SELECT approver, role, decision, comment, at FROM approvals WHERE change_seq = ? ORDER BY seq`, r.seq)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var a sdk.Approval
		var at string
		if err := rows.Scan(&a.Approver, &a.Role, &a.Decision, &a.Comment, &at); err != nil {
			rows.Close()
			return c, err
		}
		if a.At, err = parseTime(at); err != nil {
			rows.Close()
			return c, err
		}
		c.Approvals = append(c.Approvals, a)
	}
	if err := rows.Close(); err != nil {
		return c, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT author, body, at FROM comments WHERE change_seq = ? ORDER BY seq`, r.seq)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var cm sdk.Comment
		var at string
		if err := rows.Scan(&cm.Author, &cm.Body, &at); err != nil {
			return c, err
		}
		if cm.At, err = parseTime(at); err != nil {
			return c, err
		}
		c.Comments = append(c.Comments, cm)
	}
	return c, rows.Err()
}
