package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/warroom/warroom/store/fsmode"
)

// Store is an open warroom database. It is safe for concurrent use.
type Store struct {
	path        string
	mode        fsmode.Mode
	busyTimeout time.Duration
	clock       func() time.Time

	// w is the only connection that writes: one connection, so writers of
	// this process queue in database/sql instead of fighting for SQLite's
	// lock, and its DSN makes every transaction BEGIN IMMEDIATE.
	w *sql.DB
	// r is a pool of query-only connections for reads; in WAL mode they
	// never wait for the writer.
	r *sql.DB

	// dv is the reader connection PRAGMA data_version is asked on: the
	// value is per connection, so comparing two readings only means
	// something when both come from the same one.
	dvMu sync.Mutex
	dv   *sql.Conn

	// plans keeps decoded run plans, which never change (runs.go).
	plans planCache
	// group batches run changes into shared transactions (runs.go).
	group applyGroup

	closeOnce sync.Once
	closeErr  error
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock that stamps records and audit events (default:
// time.Now in UTC). Tests use it to get reproducible timestamps.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.clock = now
		}
	}
}

// WithBusyTimeout sets how long a statement waits for another connection's
// lock before failing with ErrBusy (default 5s).
func WithBusyTimeout(d time.Duration) Option {
	return func(s *Store) { s.busyTimeout = max(d, 0) }
}

const (
	defaultBusyTimeout = 5 * time.Second
	readerConns        = 4

	// timeLayout is how every timestamp is stored: always UTC and always
	// nine fractional digits, so text order is time order and range
	// queries work on the column directly.
	timeLayout = "2006-01-02T15:04:05.000000000Z07:00"
)

// WithMode sets who may read and write a database file Open creates, and
// so its -wal and -shm files, which SQLite gives the database file's
// permissions (default fsmode.Private: 0600). An existing file keeps its
// permissions.
func WithMode(m fsmode.Mode) Option {
	return func(s *Store) { s.mode = m }
}

// Open opens the database at path, creating the file if it does not exist
// (with exactly the permissions of WithMode, whatever the umask), and
// brings its schema up to date. Only the commands that may create or
// upgrade a database use it (apply, demo, migrate).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return open(ctx, path, true, opts)
}

// OpenExisting is Open for every other command: it never creates a
// database and never changes its schema. When there is no file at path,
// or an empty one, it returns an error matching ErrNoDatabase; when the
// schema is older than this warroom's, one matching ErrSchemaOutdated
// (a *SchemaOutdatedError).
func OpenExisting(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return open(ctx, path, false, opts)
}

func open(ctx context.Context, path string, create bool, opts []Option) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: open: no database path given")
	}
	s := &Store{path: path, busyTimeout: defaultBusyTimeout, clock: time.Now}
	for _, o := range opts {
		o(s)
	}
	if create {
		if err := s.createFile(); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		// Two processes turning one new file into a database (journal
		// mode, migrations) can meet SQLite's deadlock avoidance, which
		// answers "database is locked" at once, busy timeout or not: the
		// openers that may create or migrate take turns.
		unlock, err := s.lockForCreate(ctx)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		defer unlock()
	} else {
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("store: open %s: %w", path, ErrNoDatabase)
		}
		// An empty file is what 'touch' or a failed copy leaves: turning
		// it into a database is apply's job, not a reader's.
		if err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			return nil, fmt.Errorf("store: open %s: the file is empty: %w", path, ErrNoDatabase)
		}
	}
	if err := s.connect(ctx, create); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// lockForCreate takes an exclusive flock(2) on the database file for the
// length of a creating open. SQLite's own locks are fcntl(2) locks, which
// flock does not touch on Linux, so readers and writers of an existing
// database never wait on it. It gives up after the busy timeout.
func (s *Store) lockForCreate(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, friendlyOpenError(s.path, err)
	}
	deadline := time.Now().Add(s.busyTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &BusyError{Path: s.path, Timeout: s.busyTimeout, Err: errors.New("another warroom process is creating or upgrading it")}
			}
			return nil, fmt.Errorf("lock %s: %w", s.path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// createFile creates the database file, empty, with exactly the store's
// mode, when there is none: SQLite would create it 0644 less the umask,
// and gives its -wal and -shm files the database file's permissions.
func (s *Store) createFile() error {
	f, err := s.mode.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_EXCL)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return friendlyOpenError(s.path, err)
	}
	return f.Close()
}

// connect opens the writer, migrates (or, for OpenExisting, checks the
// schema is current), then opens the readers: readers come second so that
// they never see the file before it is in WAL mode.
func (s *Store) connect(ctx context.Context, create bool) error {
	mode := "rwc"
	if !create {
		// Even if the file vanished since the Stat, never create it.
		mode = "rw"
	}
	var err error
	s.w, err = sql.Open("sqlite3", s.dsn(mode,
		"_journal_mode=WAL", "_synchronous=FULL", "_foreign_keys=on", "_txlock=immediate"))
	if err != nil {
		return err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	if err := s.w.PingContext(ctx); err != nil {
		return s.busy(friendlyOpenError(s.path, err))
	}
	if create {
		err = s.migrate(ctx)
	} else {
		err = s.checkSchema(ctx)
	}
	if err != nil {
		return err
	}

	s.r, err = sql.Open("sqlite3", s.dsn("rw", "_query_only=on", "_foreign_keys=on"))
	if err != nil {
		return err
	}
	// One more than the pool needs: the data_version connection is held
	// for the life of the store.
	s.r.SetMaxOpenConns(readerConns + 1)
	s.r.SetMaxIdleConns(readerConns + 1)
	s.dv, err = s.r.Conn(ctx)
	if err != nil {
		return s.busy(err)
	}
	return nil
}

// dsn builds a file: URI so that paths with '?' or '#' survive, with the
// driver's parameters (the ones starting with '_') applied to every
// connection of the pool.
func (s *Store) dsn(mode string, params ...string) string {
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(s.path)
	q := append([]string{
		"mode=" + mode,
		fmt.Sprintf("_busy_timeout=%d", s.busyTimeout.Milliseconds()),
	}, params...)
	return "file:" + p + "?" + strings.Join(q, "&")
}

// friendlyOpenError replaces SQLite's "unable to open database file" with
// the likely reasons.
func friendlyOpenError(path string, err error) error {
	if strings.Contains(err.Error(), "unable to open database file") || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		dir := filepath.Dir(path)
		if _, serr := os.Stat(dir); serr != nil {
			return fmt.Errorf("directory %s does not exist: %w", dir, err)
		}
		return fmt.Errorf("cannot open or create the file (check permissions): %w", err)
	}
	return err
}

// Path returns the path the store was opened with.
func (s *Store) Path() string { return s.path }

// Close closes every connection; closing again does nothing. Closing the
// last connection to the file checkpoints the WAL into the main database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.dv != nil {
			errs = append(errs, s.dv.Close())
		}
		if s.r != nil {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			errs = append(errs, s.w.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.path, err)
		}
	})
	return s.closeErr
}

// DataVersion returns a number that changes whenever another connection
// (another process, or this store's own writer) commits a change. The
// console polls it to know when to refresh; only compare values from the
// same Store.
func (s *Store) DataVersion(ctx context.Context) (int64, error) {
	s.dvMu.Lock()
	defer s.dvMu.Unlock()
	var v int64
	if err := s.dv.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: data version: %w", s.busy(err))
	}
	return v, nil
}

// ObjectsVersion is a counter that moves whenever any object of the
// organisation is inserted, updated or deleted (kept by triggers): a
// reader caching the organisation re-reads it only when this moved.
func (s *Store) ObjectsVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM objects_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: objects version: %w", s.busy(err))
	}
	return v, nil
}

// queryer is what read queries need, so that one query function serves
// both the reader pool and a write transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func (s *Store) now() time.Time { return s.clock().UTC() }

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
