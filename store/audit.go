package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/core/model"
)

// GenesisHash is the prev_hash of the first audit event, and the head hash
// of an empty log.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// EventHash returns the hash an audit event must carry:
//
//	hex(sha256(prev_hash + "\n" + canonical))
//
// where canonical is the compact JSON object
//
//	{"seq":N,"at":"<RFC 3339, nanoseconds, UTC>","actor":"...","command":"...","summary":"...","payload":<payload>}
//
// with the keys in exactly that order, strings encoded as encoding/json
// does without HTML escaping, and payload the exact stored JSON bytes
// (null when there is none). Changing any of this breaks every existing
// chain: it is a file format.
func EventHash(e model.AuditEvent) string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(canonical(e))
	return hex.EncodeToString(h.Sum(nil))
}

func canonical(e model.AuditEvent) []byte {
	var b bytes.Buffer
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.FormatInt(e.Seq, 10))
	b.WriteString(`,"at":`)
	writeJSONString(&b, e.At.UTC().Format(time.RFC3339Nano))
	b.WriteString(`,"actor":`)
	writeJSONString(&b, e.Actor)
	b.WriteString(`,"command":`)
	writeJSONString(&b, e.Command)
	b.WriteString(`,"summary":`)
	writeJSONString(&b, e.Summary)
	b.WriteString(`,"payload":`)
	if len(e.Payload) == 0 {
		b.WriteString("null")
	} else {
		b.Write(e.Payload)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	if plainJSON(s) {
		// What the encoder writes for such a string, without its
		// allocations: verifying a long log hashes every event.
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // encoding a string cannot fail
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// plainJSON reports whether encoding/json writes s as is between quotes:
// printable ASCII other than the quote and the backslash.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// AuditFilter selects audit events. The zero value selects all of them.
type AuditFilter struct {
	AfterSeq int64  // only events with seq > AfterSeq
	Limit    int    // at most this many; 0 means no limit
	Actor    string // only this actor, if set
	Command  string // only this command, if set
}

// AuditEvents returns the events the filter selects, ascending by seq.
func (s *Store) AuditEvents(ctx context.Context, f AuditFilter) ([]model.AuditEvent, error) {
	q := selectEvents + ` WHERE seq > ?`
	args := []any{f.AfterSeq}
	if f.Actor != "" {
		q += ` AND actor = ?`
		args = append(args, f.Actor)
	}
	if f.Command != "" {
		q += ` AND command = ?`
		args = append(args, f.Command)
	}
	q += ` ORDER BY seq`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit events: %w", s.busy(err))
	}
	defer rows.Close()
	var out []model.AuditEvent
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: audit events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit events: %w", s.busy(err))
	}
	return out, nil
}

// AuditHead returns the seq and hash of the newest audit event: (0,
// GenesisHash) when there is none. The console polls it to notice new
// events cheaply.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	if err := s.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("store: audit head: %w", s.busy(err))
	}
	return seq, hash, nil
}

const selectEvents = `SELECT seq, at, actor, command, summary, payload, prev_hash, hash FROM audit_events`

// storedEvent is an event as read, with the stored time kept as text so
// that an unreadable time is reported by VerifyAudit rather than failing
// the scan.
type storedEvent struct {
	model.AuditEvent
	at string
}

func scanStored(row rowScanner) (storedEvent, error) {
	var (
		e       storedEvent
		payload sql.NullString
	)
	if err := row.Scan(&e.Seq, &e.at, &e.Actor, &e.Command, &e.Summary, &payload, &e.PrevHash, &e.Hash); err != nil {
		return storedEvent{}, err
	}
	if payload.Valid {
		e.Payload = json.RawMessage(payload.String)
	}
	return e, nil
}

func scanEvent(row rowScanner) (model.AuditEvent, error) {
	e, err := scanStored(row)
	if err != nil {
		return model.AuditEvent{}, err
	}
	if e.At, err = parseTime(e.at); err != nil {
		return model.AuditEvent{}, fmt.Errorf("event %d: time %q: %w", e.Seq, e.at, err)
	}
	return e.AuditEvent, nil
}

// AuditReport is the outcome of VerifyAudit.
type AuditReport struct {
	OK       bool
	Events   int64  // events in the log
	FirstBad int64  // seq of the first event found missing or tampered with; 0 when OK
	Reason   string // a sentence for people; empty when OK
}

// VerifyAudit walks the whole audit log in seq order, in one read
// snapshot, and reports the first event that was edited, deleted,
// reordered or replaced. It finds:
//   - an edited field or payload: the event's content no longer matches its hash;
//   - a deleted event: a gap in seq, or audit_head ahead of the last event
//     (the newest events removed);
//   - reordered or swapped rows: an event whose prev_hash is not the hash
//     of the event before it;
//   - an edited stored hash: the event's content matches the hash its
//     successor links to, but not the hash it stores.
//
// What it cannot find: someone with the file who rewrites the log and
// recomputes every hash after the edit, audit_head included. Exporting
// and keeping the head elsewhere closes that.
func (s *Store) VerifyAudit(ctx context.Context) (AuditReport, error) {
	rep, _, err := s.verifyAudit(ctx, AuditCheckpoint{})
	return rep, err
}

// AuditCheckpoint is a point of the audit chain already verified: the seq
// and stored hash of the last event checked. The zero value is the start
// of the chain (genesis).
type AuditCheckpoint struct {
	Seq  int64
	Hash string
}

// VerifyAuditFrom verifies only what was appended after a checkpoint that
// an earlier verification returned, and returns the checkpoint to give
// the next call: the head it verified when the report is OK, from itself
// otherwise. The zero checkpoint verifies the whole log, as VerifyAudit.
//
// Past the checkpoint it finds everything VerifyAudit finds, the audit
// head disagreeing included. Of the events up to the checkpoint it only
// re-reads the checkpoint's own event: that event deleted, its content
// edited or its stored hash changed since it was verified is reported.
// An edit of an older event that leaves the checkpoint's event alone is
// NOT found: run a full VerifyAudit now and then (the console does every
// 30 seconds) to catch those.
//
// The report's Events counts the events up to the checkpoint as the
// checkpoint vouches for them (Seq events) plus those read after it.
func (s *Store) VerifyAuditFrom(ctx context.Context, from AuditCheckpoint) (AuditReport, AuditCheckpoint, error) {
	return s.verifyAudit(ctx, from)
}

func (s *Store) verifyAudit(ctx context.Context, from AuditCheckpoint) (AuditReport, AuditCheckpoint, error) {
	if from.Seq < 0 {
		return AuditReport{}, from, fmt.Errorf("store: verify audit: checkpoint seq %d is negative", from.Seq)
	}
	// One transaction, so the events and the head are one snapshot even
	// while another process appends.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return AuditReport{}, from, fmt.Errorf("store: verify audit: %w", s.busy(err))
	}
	defer tx.Rollback()

	var v verifier
	if from.Seq > 0 {
		e, err := scanStored(tx.QueryRowContext(ctx, selectEvents+` WHERE seq = ?`, from.Seq))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			v.fail(from.Seq, "event %d is missing (deleted)", from.Seq)
		case err != nil:
			return AuditReport{}, from, fmt.Errorf("store: verify audit: checkpoint event %d: %w", from.Seq, s.busy(err))
		default:
			v.checkpoint(e, from.Hash)
		}
		v.n, v.lastSeq, v.lastHash = from.Seq, from.Seq, from.Hash
	}
	if v.bad == nil {
		rows, err := tx.QueryContext(ctx, selectEvents+` WHERE seq > ? ORDER BY seq`, from.Seq)
		if err != nil {
			return AuditReport{}, from, fmt.Errorf("store: verify audit: %w", s.busy(err))
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanStored(rows)
			if err != nil {
				return AuditReport{}, from, fmt.Errorf("store: verify audit: %w", err)
			}
			v.next(e)
		}
		if err := rows.Err(); err != nil {
			return AuditReport{}, from, fmt.Errorf("store: verify audit: %w", s.busy(err))
		}
	}
	var headSeq int64
	var headHash string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return AuditReport{}, from, fmt.Errorf("store: verify audit: audit head: %w", s.busy(err))
	}
	rep := v.end(headSeq, headHash)
	if !rep.OK {
		return rep, from, nil
	}
	if v.lastSeq == 0 {
		return rep, AuditCheckpoint{}, nil
	}
	return rep, AuditCheckpoint{Seq: v.lastSeq, Hash: v.lastHash}, nil
}

// verifier checks a chain one event at a time, so that verifying a long
// log needs no memory proportional to it.
type verifier struct {
	n        int64  // events seen
	lastSeq  int64  // seq of the previous event
	lastHash string // stored hash of the previous event
	bad      *AuditReport

	// suspect is set when the previous event's content did not match its
	// stored hash; the next link tells whether the content or the stored
	// hash was edited.
	suspect  bool
	computed string
}

func (v *verifier) fail(seq int64, format string, args ...any) {
	if v.bad == nil {
		v.bad = &AuditReport{FirstBad: seq, Reason: fmt.Sprintf(format, args...)}
	}
}

// resolveSuspect settles the previous event's hash mismatch once the hash
// that follows it (the next prev_hash, or the head's hash) is known.
func (v *verifier) resolveSuspect(link string) {
	if !v.suspect {
		return
	}
	v.suspect = false
	if link == v.computed {
		v.fail(v.lastSeq, "event %d: its stored hash was edited (the content is intact)", v.lastSeq)
	} else {
		v.fail(v.lastSeq, "event %d: content does not match its hash (edited)", v.lastSeq)
	}
}

// checkpoint checks the event at an earlier verification's checkpoint
// against the hash that verification saw.
func (v *verifier) checkpoint(e storedEvent, hash string) {
	at, err := parseTime(e.at)
	if err != nil || !utf8.ValidString(e.Actor+e.Command+e.Summary) {
		v.fail(e.Seq, "event %d: content is unreadable (edited)", e.Seq)
		return
	}
	e.At = at
	computed := EventHash(e.AuditEvent)
	switch {
	case e.Hash == hash && computed == hash:
		// intact
	case e.Hash != hash && computed == hash:
		v.fail(e.Seq, "event %d: its stored hash was edited (the content is intact)", e.Seq)
	case e.Hash == hash:
		v.fail(e.Seq, "event %d: content does not match its hash (edited)", e.Seq)
	default:
		v.fail(e.Seq, "event %d: changed since it was last verified (replaced)", e.Seq)
	}
}

func (v *verifier) next(e storedEvent) {
	v.n++
	if v.bad != nil {
		return // keep counting only
	}
	prevHash := v.lastHash
	if v.lastSeq == 0 {
		prevHash = GenesisHash
	}
	v.resolveSuspect(e.PrevHash)
	if v.bad != nil {
		return
	}
	switch want := v.lastSeq + 1; {
	case e.Seq > want:
		v.fail(want, "event %d is missing (deleted)", want)
		return
	case e.Seq < want: // only a seq below 1 can come here
		v.fail(e.Seq, "event %d: sequence number out of range (inserted)", e.Seq)
		return
	}
	if e.PrevHash != prevHash {
		if e.Seq == 1 {
			v.fail(e.Seq, "event 1: previous hash is not the start of the chain (replaced)")
		} else {
			v.fail(e.Seq, "event %d: previous hash does not match event %d (reordered or replaced)", e.Seq, e.Seq-1)
		}
		return
	}
	at, err := parseTime(e.at)
	if err != nil || !utf8.ValidString(e.Actor+e.Command+e.Summary) {
		v.fail(e.Seq, "event %d: content is unreadable (edited)", e.Seq)
		return
	}
	e.At = at
	if c := EventHash(e.AuditEvent); c != e.Hash {
		v.suspect, v.computed = true, c
	}
	v.lastSeq, v.lastHash = e.Seq, e.Hash
}

func (v *verifier) end(headSeq int64, headHash string) AuditReport {
	if v.bad == nil {
		v.resolveSuspect(headHash)
	}
	if v.bad == nil {
		switch {
		case headSeq > v.lastSeq:
			v.fail(v.lastSeq+1, "event %d is missing (deleted)", v.lastSeq+1)
		case headSeq < v.lastSeq:
			v.fail(headSeq+1, "event %d: not recorded in the audit head (added outside warroom)", headSeq+1)
		case v.lastSeq > 0 && headHash != v.lastHash:
			v.fail(v.lastSeq, "event %d: does not match the audit head (replaced)", v.lastSeq)
		case v.lastSeq == 0 && headHash != GenesisHash:
			v.fail(0, "the audit head was edited")
		}
	}
	if v.bad != nil {
		r := *v.bad
		r.Events = v.n
		return r
	}
	return AuditReport{OK: true, Events: v.n}
}
