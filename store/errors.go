package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"
)

var (
	// ErrNotFound is returned when the object asked for does not exist.
	ErrNotFound = errors.New("not found")

	// ErrNoDatabase is returned by OpenExisting when there is no database
	// file at the path.
	ErrNoDatabase = errors.New("no database")

	// ErrBusy is returned when another connection held the write lock for
	// longer than the busy timeout. The error is a *BusyError.
	ErrBusy = errors.New("database busy")

	// ErrSchemaOutdated is returned by OpenExisting when the database's
	// schema is older than this warroom's: only Open migrates it. The
	// error is a *SchemaOutdatedError.
	ErrSchemaOutdated = errors.New("database schema is older than this warroom")

	// ErrSchemaTooNew is returned by Open when the database was migrated by
	// a newer warroom than this one.
	ErrSchemaTooNew = errors.New("database schema is newer than this warroom")
)

// SchemaOutdatedError is OpenExisting's refusal of a database whose
// schema is older than this warroom's (Have 0: no warroom schema at all).
// errors.Is(err, ErrSchemaOutdated) matches it.
type SchemaOutdatedError struct {
	Path       string
	Have, Want int
}

func (e *SchemaOutdatedError) Error() string {
	if e.Have == 0 {
		return fmt.Sprintf("%s is not a warroom database (it has no warroom schema)", e.Path)
	}
	return fmt.Sprintf("database %s has schema version %d, this warroom uses version %d", e.Path, e.Have, e.Want)
}

// Is makes errors.Is(err, ErrSchemaOutdated) true.
func (e *SchemaOutdatedError) Is(target error) bool { return target == ErrSchemaOutdated }

// BusyError says which database stayed locked and for how long we waited.
// errors.Is(err, ErrBusy) matches it; Unwrap gives the driver's error.
type BusyError struct {
	Path    string
	Timeout time.Duration
	Err     error
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("database %s was busy for longer than %s (another warroom process is writing to it); try again: %v",
		e.Path, e.Timeout, e.Err)
}

func (e *BusyError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// schemaTooNewError carries both versions so the message tells the
// operator exactly what to do.
type schemaTooNewError struct{ have, know int }

func (e *schemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this warroom (knows up to %d): upgrade warroom", e.have, e.know)
}

func (e *schemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

// busy turns SQLite's "database is locked" into a *BusyError naming the
// file, and leaves every other error as it is. It is applied at the points
// where we wait for a lock (BEGIN, COMMIT, statements), so callers can
// branch with errors.Is(err, ErrBusy) whatever layer wrapped it.
func (s *Store) busy(err error) error {
	if err == nil {
		return nil
	}
	var be *BusyError
	if errors.As(err, &be) {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrBusy {
		return &BusyError{Path: s.path, Timeout: s.busyTimeout, Err: err}
	}
	return err
}
