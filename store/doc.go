// Package store keeps warroom's state in one SQLite file: the declarative
// spec objects, the hash-chained audit log, and the runtime tables of the
// deployment engine, gates, governance and calendar.
//
// All SQL of warroom lives here. There is one write path, [Store.Write]: it
// runs a command's changes and appends the audit event that describes them
// in one transaction, so state and audit can never disagree. Reads come from
// a separate pool of read-only connections and return plain values, never a
// live handle. Several processes (consoles, CI jobs) may share one file: the
// journal is WAL, writers take the lock at BEGIN and wait up to a busy
// timeout, and schema migrations are embedded, numbered and applied on open.
//
// The driver is github.com/mattn/go-sqlite3, so building needs cgo.
package store
