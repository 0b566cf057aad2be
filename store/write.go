package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/core/model"
)

// Change is what a command did, as it goes into the audit log. An empty
// Summary means the command changed nothing.
type Change struct {
	Summary string // one line for people: "apply: 3 services changed, 1 gate added"
	Payload any    // details for machines, stored as compact JSON; nil for none
}

// Tx is a write transaction handed to the function given to Write. It is
// only valid until that function returns.
type Tx struct {
	s   *Store
	tx  *sql.Tx
	now time.Time // one timestamp for everything a command writes
	// actor is Write's actor: who the command's records are by.
	actor string
	put   *sql.Stmt // PutRecord's statement, prepared on first use
	// decoded keeps the spec objects decoded in this transaction (an
	// evidence import checks thousands of records against one release);
	// PutRecord and DeleteRecord empty it.
	decoded map[model.Kind]map[string]model.Object
}

// Write is the one write path. It runs fn in one write transaction (BEGIN
// IMMEDIATE, so two writers never deadlock upgrading a read lock). If fn
// fails, everything is rolled back and fn's error returned. If the Change
// fn returns has an empty Summary, nothing changed: Write rolls back,
// appends nothing and returns (nil, nil). Otherwise it appends one audit
// event (actor, command, summary, JSON payload) chained to the previous
// one, moves audit_head, commits, and returns the event.
//
// If another process holds the write lock for longer than the busy
// timeout, the error matches ErrBusy.
//
// fn must not call Write itself: the store has one writer connection and
// fn is holding it. Reads through the Store (not the Tx) from inside fn see
// the state before this transaction.
func (s *Store) Write(ctx context.Context, actor, command string, fn func(ctx context.Context, tx *Tx) (Change, error)) (*model.AuditEvent, error) {
	if actor == "" || command == "" {
		return nil, fmt.Errorf("store: write: actor and command are required (got actor %q, command %q)", actor, command)
	}
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: %s: begin: %w", command, s.busy(err))
	}
	// Rolling back after a commit is a no-op; this also covers a panic in fn.
	defer sqlTx.Rollback()

	tx := &Tx{s: s, tx: sqlTx, now: s.now(), actor: actor}
	ch, err := fn(ctx, tx)
	if err != nil {
		// fn's error is the caller's own: keep it as it is, so callers
		// branch on it; only a lock timeout inside it becomes ErrBusy.
		return nil, s.busy(err)
	}
	if ch.Summary == "" {
		return nil, nil
	}
	ev, err := tx.appendEvent(ctx, actor, command, ch)
	if err != nil {
		return nil, fmt.Errorf("store: %s: audit: %w", command, s.busy(err))
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("store: %s: commit: %w", command, s.busy(err))
	}
	return ev, nil
}

// appendEvent chains one event to audit_head and moves the head, inside the
// command's transaction. The write lock taken at BEGIN makes reading the
// head and writing the next event atomic across processes.
func (t *Tx) appendEvent(ctx context.Context, actor, command string, ch Change) (*model.AuditEvent, error) {
	for _, f := range []struct{ name, v string }{{"actor", actor}, {"command", command}, {"summary", ch.Summary}} {
		if !utf8.ValidString(f.v) {
			// The canonical encoding would replace invalid bytes, so two
			// different stored values could hash alike.
			return nil, fmt.Errorf("%s is not valid UTF-8", f.name)
		}
	}
	payload, err := encodePayload(ch.Payload)
	if err != nil {
		return nil, err
	}
	var prevSeq int64
	var prevHash string
	if err := t.tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&prevSeq, &prevHash); err != nil {
		return nil, fmt.Errorf("read audit head: %w", err)
	}
	ev := &model.AuditEvent{
		Seq:      prevSeq + 1,
		At:       t.now,
		Actor:    actor,
		Command:  command,
		Summary:  ch.Summary,
		Payload:  payload,
		PrevHash: prevHash,
	}
	ev.Hash = EventHash(*ev)
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO audit_events (seq, at, actor, command, summary, payload, prev_hash, hash)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.Seq, formatTime(ev.At), ev.Actor, ev.Command, ev.Summary, nullableJSON(payload), ev.PrevHash, ev.Hash); err != nil {
		return nil, fmt.Errorf("append event %d: %w", ev.Seq, err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, ev.Seq, ev.Hash); err != nil {
		return nil, fmt.Errorf("move audit head to %d: %w", ev.Seq, err)
	}
	return ev, nil
}

// encodePayload returns the compact JSON of a payload, or nil when there is
// none (nil, or something that encodes as null).
func encodePayload(p any) (json.RawMessage, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return b, nil
}

// nullableJSON binds JSON as TEXT (a []byte would bind as a BLOB, which a
// STRICT TEXT column refuses), and nothing as NULL.
func nullableJSON(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}
