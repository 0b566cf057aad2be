package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
)

// MaxEvidenceSize is the largest evidence file the store keeps (256 MiB,
// core/evidence's MaxFileSize): a blob is held in memory once while it is
// written.
const MaxEvidenceSize = 256 << 20

// EvidenceFile is one file of evidence: its name as given, the sha256 and
// size of its bytes, and the bytes. Content is read only when the store
// does not hold a blob with that hash yet, and must then give exactly
// Size bytes hashing to SHA256.
type EvidenceFile struct {
	Name    string
	SHA256  string // lower-case hex
	Size    int64
	Content io.Reader
}

// EvidenceRecord is evidence already measured: core/evidence read the
// file and measured it against the gate (its Measurement's Value,
// Threshold, Pass and Summary). The store checks the release, service
// and gate exist, keeps the file by content hash and records who added
// it (the Write's actor) and when.
type EvidenceRecord struct {
	Release, Service, Gate string
	Format                 string // core/evidence's Format: junit, gocover, ...
	File                   EvidenceFile
	Baseline               *EvidenceFile // performance gates: the baseline compared against

	Value     float64
	Threshold string
	Pass      bool
	Summary   string
}

// AddEvidence records evidence for a gate inside the command's
// transaction (evidence add and evidence import call it once per file,
// all in one Write). The file's bytes are kept once per content hash.
//
// Adding the file that already is the current evidence of that (release,
// service, gate), against the same baseline, is a no-op: it returns the
// current evidence and added false, and writes nothing. Adding a file
// that was current before but has since been superseded records a new
// addition (sharing the blob), which makes it current again. Recorded
// evidence is never changed or deleted.
func (t *Tx) AddEvidence(ctx context.Context, r EvidenceRecord) (e gates.Evidence, added bool, err error) {
	what := fmt.Sprintf("evidence %s for %s/%s of release %s", r.File.Name, r.Service, r.Gate, r.Release)
	if r.File.Name == "" || r.Format == "" || r.Summary == "" {
		return e, false, fmt.Errorf("store: %s: file name, format and summary are required", what)
	}
	g, err := t.checkTarget(ctx, r.Release, r.Service, r.Gate)
	if err != nil {
		return e, false, fmt.Errorf("store: %s: %w", what, err)
	}
	switch g.Kind {
	case model.GateApproval, model.GateRehearsal, model.GateDrift:
		return e, false, fmt.Errorf("store: %s: gate %s is of kind %s, which reads no evidence files", what, g.Name, g.Kind)
	}
	cur, found, err := t.currentEvidence(ctx, r.Release, r.Service, r.Gate)
	if err != nil {
		return e, false, fmt.Errorf("store: %s: %w", what, err)
	}
	baseSHA := ""
	if r.Baseline != nil {
		baseSHA = r.Baseline.SHA256
	}
	if found && cur.SHA256 == r.File.SHA256 && cur.BaselineSHA256 == baseSHA {
		return cur, false, nil
	}
	if err := t.putBlob(ctx, r.File); err != nil {
		return e, false, fmt.Errorf("store: %s: %w", what, err)
	}
	var baseFile any
	e = gates.Evidence{Release: r.Release, Service: r.Service, Gate: r.Gate, SHA256: r.File.SHA256, Size: r.File.Size,
		File: r.File.Name, Format: r.Format, Value: r.Value, Threshold: r.Threshold, Pass: r.Pass, Summary: r.Summary,
		AddedBy: t.actor, AddedAt: t.now}
	if r.Baseline != nil {
		if err := t.putBlob(ctx, *r.Baseline); err != nil {
			return gates.Evidence{}, false, fmt.Errorf("store: %s: baseline: %w", what, err)
		}
		e.BaselineSHA256, e.BaselineFile, baseFile = r.Baseline.SHA256, r.Baseline.Name, r.Baseline.SHA256
	}
	res, err := t.tx.ExecContext(ctx, `INSERT INTO evidence (release, service, gate, sha256, size, file, format,
		baseline_sha256, baseline_file, value, threshold, pass, summary, added_by, added_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Release, e.Service, e.Gate, e.SHA256, e.Size, e.File, e.Format, baseFile, e.BaselineFile,
		e.Value, e.Threshold, boolInt(e.Pass), e.Summary, e.AddedBy, formatTime(e.AddedAt))
	if err != nil {
		return gates.Evidence{}, false, fmt.Errorf("store: %s: %w", what, t.s.busy(err))
	}
	e.ID, _ = res.LastInsertId()
	return e, true, nil
}

// putBlob keeps a file's bytes under its hash, unless they are kept
// already; the bytes must match the hash and size claimed.
func (t *Tx) putBlob(ctx context.Context, f EvidenceFile) error {
	if len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "" {
		return fmt.Errorf("%s: sha256 %q is not 64 lower-case hex digits", f.Name, f.SHA256)
	}
	if f.Size < 0 || f.Size > MaxEvidenceSize {
		return fmt.Errorf("%s: %d bytes is over the evidence size limit of %d MiB: split the report or keep only what the gate reads",
			f.Name, f.Size, MaxEvidenceSize>>20)
	}
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM evidence_blobs WHERE sha256 = ?`, f.SHA256).Scan(&n); err != nil {
		return t.s.busy(err)
	}
	if n > 0 {
		return nil
	}
	if f.Content == nil {
		return fmt.Errorf("%s: the store has no file with sha256 %s and no content was given", f.Name, f.SHA256)
	}
	var buf bytes.Buffer
	buf.Grow(int(f.Size))
	h := sha256.New()
	got, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(f.Content, f.Size+1))
	if err != nil {
		return fmt.Errorf("%s: read: %w", f.Name, err)
	}
	if got != f.Size {
		return fmt.Errorf("%s: the file has %s bytes, %d were expected (did it change while being added?)", f.Name, sizeWord(got, f.Size), f.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		return fmt.Errorf("%s: content hashes to sha256 %s, not %s (did it change while being added?)", f.Name, sum, f.SHA256)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO evidence_blobs (sha256, size, content, created_at) VALUES (?, ?, ?, ?)`,
		f.SHA256, f.Size, buf.Bytes(), formatTime(t.now)); err != nil {
		return t.s.busy(err)
	}
	return nil
}

func sizeWord(got, want int64) string {
	if got > want {
		return "more than " + fmt.Sprint(want)
	}
	return fmt.Sprint(got)
}

// AddEvidence records evidence in one audited transaction (command is
// "evidence add" or "evidence import"): every record or none. It returns
// the evidence as recorded, in the order given (a no-op addition returns
// the current evidence), and the audit event, nil when nothing was added.
func (s *Store) AddEvidence(ctx context.Context, actor, command string, recs ...EvidenceRecord) ([]gates.Evidence, *model.AuditEvent, error) {
	out := make([]gates.Evidence, len(recs))
	ev, err := s.Write(ctx, actor, command, func(ctx context.Context, tx *Tx) (Change, error) {
		var added []gates.Evidence
		for i, r := range recs {
			e, ok, err := tx.AddEvidence(ctx, r)
			if err != nil {
				return Change{}, err
			}
			out[i] = e
			if ok {
				added = append(added, e)
			}
		}
		return Change{Summary: evidenceSummary(added), Payload: added}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ev, nil
}

// evidenceSummary is the audit line: one addition in full, several
// counted by release.
func evidenceSummary(added []gates.Evidence) string {
	switch len(added) {
	case 0:
		return ""
	case 1:
		e := added[0]
		verdict := "fail"
		if e.Pass {
			verdict = "pass"
		}
		return fmt.Sprintf("evidence for %s/%s of release %s: %s sha256:%s, %s: %s",
			e.Service, e.Gate, e.Release, e.File, gates.ShortHash(e.SHA256), verdict, e.Summary)
	}
	var releases []string
	pass := 0
	for _, e := range added {
		if !slices.Contains(releases, e.Release) {
			releases = append(releases, e.Release)
		}
		if e.Pass {
			pass++
		}
	}
	return fmt.Sprintf("evidence: %d files added for release %s (%d pass, %d fail)",
		len(added), strings.Join(releases, ", "), pass, len(added)-pass)
}

// WaiverRequest asks to waive a gate for a release's service.
type WaiverRequest struct {
	Release, Service, Gate string
	Env                    string // "": every environment
	Reason                 string // required
	Expires                time.Time
	// RequestedBy is who asked for the waiver, when someone did ("" when
	// the waiver is given unasked). The starters of the release's
	// unfinished runs count as requesters whatever it says: their run
	// waits on the gate.
	RequestedBy string
}

// WaiveGate records a waiver given by by, audited as "gate waive". It
// refuses, writing nothing, a blank reason, an expiry not in the future,
// an unknown release, service or gate, and (a *FourEyesError) a waiver
// given by its requester or by the starter of one of the release's
// unfinished runs. Whether by may waive the gate at all (roles) is the
// policy's check, made before.
func (s *Store) WaiveGate(ctx context.Context, by Actor, r WaiverRequest) (gates.Waiver, *model.AuditEvent, error) {
	var w gates.Waiver
	ev, err := s.Write(ctx, by.String(), "gate waive", func(ctx context.Context, tx *Tx) (Change, error) {
		act := fmt.Sprintf("waive gate %s for %s in release %s", r.Gate, r.Service, r.Release)
		if strings.TrimSpace(r.Reason) == "" {
			return Change{}, fmt.Errorf("store: %s: a reason is required", act)
		}
		if r.Expires.IsZero() || !r.Expires.After(tx.now) {
			return Change{}, fmt.Errorf("store: %s: the expiry %s is not in the future", act, formatTime(r.Expires))
		}
		if _, err := tx.checkTarget(ctx, r.Release, r.Service, r.Gate); err != nil {
			return Change{}, fmt.Errorf("store: %s: %w", act, err)
		}
		if r.Env != "" {
			if _, err := decodeRecord[model.Environment](ctx, tx, model.KindEnvironment, r.Env); err != nil {
				return Change{}, fmt.Errorf("store: %s: %w", act, err)
			}
		}
		requester := r.RequestedBy
		if err := tx.fourEyes(ctx, by, act, ParseActor(r.RequestedBy), "requested the waiver"); err != nil {
			return Change{}, err
		}
		starters, err := tx.unfinishedStarters(ctx, r.Release)
		if err != nil {
			return Change{}, fmt.Errorf("store: %s: %w", act, err)
		}
		for _, st := range starters {
			if err := tx.fourEyes(ctx, by, act, ParseActor(st.by), "started run "+st.run+", which waits on it, and so requested the waiver"); err != nil {
				return Change{}, err
			}
			if requester == "" {
				requester = st.by
			}
		}
		w = gates.Waiver{Release: r.Release, Service: r.Service, Gate: r.Gate, Env: r.Env, Approver: by.Person, Via: by.Via,
			RequestedBy: requester, Reason: strings.TrimSpace(r.Reason), At: tx.now, Expires: r.Expires.UTC()}
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO gate_waivers (release, env, gate, service, approver, via, requested_by, reason, expires_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.Release, w.Env, w.Gate, w.Service, w.Approver, w.Via, w.RequestedBy, w.Reason, formatTime(w.Expires), formatTime(w.At))
		if err != nil {
			return Change{}, fmt.Errorf("store: %s: %w", act, tx.s.busy(err))
		}
		w.ID, _ = res.LastInsertId()
		scope := ""
		if w.Env != "" {
			scope = " in " + w.Env
		}
		return Change{
			Summary: fmt.Sprintf("waived gate %s for %s of release %s%s until %s: %s", w.Gate, w.Service, w.Release, scope,
				w.Expires.Format("2006-01-02 15:04 UTC"), w.Reason),
			Payload: w,
		}, nil
	})
	if err != nil {
		return gates.Waiver{}, nil, err
	}
	return w, ev, nil
}

// SignOffRequest asks to sign off an approval-kind gate for a release's
// service.
type SignOffRequest struct {
	Release, Service, Gate string
	Reason                 string // optional
}

// ApproveGate records a sign-off of an approval-kind gate by by, audited
// as "gate approve". It refuses, writing nothing, an unknown release,
// service or gate, a gate of another kind, and (a *FourEyesError) a
// sign-off by the starter of one of the release's unfinished runs (who
// requested it by starting the run). Whether by is one of the gate's
// approvers is the policy's check, made before; evaluation counts only
// sign-offs by them.
func (s *Store) ApproveGate(ctx context.Context, by Actor, r SignOffRequest) (gates.SignOff, *model.AuditEvent, error) {
	var so gates.SignOff
	ev, err := s.Write(ctx, by.String(), "gate approve", func(ctx context.Context, tx *Tx) (Change, error) {
		act := fmt.Sprintf("sign off gate %s for %s in release %s", r.Gate, r.Service, r.Release)
		g, err := tx.checkTarget(ctx, r.Release, r.Service, r.Gate)
		if err != nil {
			return Change{}, fmt.Errorf("store: %s: %w", act, err)
		}
		if g.Kind != model.GateApproval {
			return Change{}, fmt.Errorf("store: %s: gate %s is of kind %s: only approval gates are signed off (others take evidence, or a waiver)", act, g.Name, g.Kind)
		}
		starters, err := tx.unfinishedStarters(ctx, r.Release)
		if err != nil {
			return Change{}, fmt.Errorf("store: %s: %w", act, err)
		}
		for _, st := range starters {
			if err := tx.fourEyes(ctx, by, act, ParseActor(st.by), "started run "+st.run+", which waits on it, and so requested the sign-off"); err != nil {
				return Change{}, err
			}
		}
		so = gates.SignOff{Release: r.Release, Service: r.Service, Gate: r.Gate, Approver: by.Person, Via: by.Via,
			Reason: strings.TrimSpace(r.Reason), At: tx.now}
		res, err := tx.tx.ExecContext(ctx, `INSERT INTO gate_signoffs (release, service, gate, approver, via, reason, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, so.Release, so.Service, so.Gate, so.Approver, so.Via, so.Reason, formatTime(so.At))
		if err != nil {
			return Change{}, fmt.Errorf("store: %s: %w", act, tx.s.busy(err))
		}
		so.ID, _ = res.LastInsertId()
		summary := fmt.Sprintf("signed off gate %s for %s of release %s", so.Gate, so.Service, so.Release)
		if so.Reason != "" {
			summary += ": " + so.Reason
		}
		return Change{Summary: summary, Payload: so}, nil
	})
	if err != nil {
		return gates.SignOff{}, nil, err
	}
	return so, ev, nil
}

// GateRecords returns what gate evaluation reads for a release, in one
// read snapshot and one query per table: the current evidence per
// (service, gate), and every sign-off and waiver, oldest first.
func (s *Store) GateRecords(ctx context.Context, release string) (gates.Records, error) {
	var rec gates.Records
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rec, fmt.Errorf("store: gate records of %s: %w", release, s.busy(err))
	}
	defer tx.Rollback()
	if rec.Evidence, err = evidenceRows(ctx, tx, `WHERE e.id IN (SELECT evidence_id FROM evidence_current WHERE release = ?)
		ORDER BY e.id`, release); err != nil {
		return rec, fmt.Errorf("store: gate records of %s: evidence: %w", release, s.busy(err))
	}
	if rec.SignOffs, err = signOffRows(ctx, tx, release); err != nil {
		return rec, fmt.Errorf("store: gate records of %s: sign-offs: %w", release, s.busy(err))
	}
	if rec.Waivers, err = waiverRows(ctx, tx, release); err != nil {
		return rec, fmt.Errorf("store: gate records of %s: waivers: %w", release, s.busy(err))
	}
	return rec, nil
}

// EvidenceHistory returns every addition of evidence for a release,
// oldest first (all releases when release is "").
func (s *Store) EvidenceHistory(ctx context.Context, release string) ([]gates.Evidence, error) {
	out, err := evidenceRows(ctx, s.r, `WHERE ? = '' OR e.release = ? ORDER BY e.id`, release, release)
	if err != nil {
		return nil, fmt.Errorf("store: evidence of %s: %w", release, s.busy(err))
	}
	return out, nil
}

// EvidenceContent returns the bytes of the evidence file with that
// sha256; the error matches ErrNotFound when there is none.
func (s *Store) EvidenceContent(ctx context.Context, sha string) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT content FROM evidence_blobs WHERE sha256 = ?`, sha).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: evidence sha256:%s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: evidence sha256:%s: %w", sha, s.busy(err))
	}
	return b, nil
}

// currentEvidence is the newest evidence of (release, service, gate).
func (t *Tx) currentEvidence(ctx context.Context, release, service, gate string) (gates.Evidence, bool, error) {
	list, err := evidenceRows(ctx, t.tx, `WHERE e.id = (SELECT evidence_id FROM evidence_current
		WHERE release = ? AND service = ? AND gate = ?)`, release, service, gate)
	if err != nil || len(list) == 0 {
		return gates.Evidence{}, false, t.s.busy(err)
	}
	return list[0], true, nil
}

func evidenceRows(ctx context.Context, q queryer, where string, args ...any) ([]gates.Evidence, error) {
	rows, err := q.QueryContext(ctx, `SELECT e.id, e.release, e.service, e.gate, e.sha256, e.size, e.file, e.format,
		coalesce(e.baseline_sha256, ''), e.baseline_file, e.value, e.threshold, e.pass, e.summary, e.added_by, e.added_at
		FROM evidence e `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gates.Evidence
	for rows.Next() {
		var (
			e    gates.Evidence
			pass int
			at   string
		)
		if err := rows.Scan(&e.ID, &e.Release, &e.Service, &e.Gate, &e.SHA256, &e.Size, &e.File, &e.Format,
			&e.BaselineSHA256, &e.BaselineFile, &e.Value, &e.Threshold, &pass, &e.Summary, &e.AddedBy, &at); err != nil {
			return nil, err
		}
		e.Pass = pass == 1
		if e.AddedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("evidence %d: added_at: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func signOffRows(ctx context.Context, q queryer, release string) ([]gates.SignOff, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, release, service, gate, approver, via, reason, created_at
		FROM gate_signoffs WHERE release = ? ORDER BY id`, release)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gates.SignOff
	for rows.Next() {
		var (
			s  gates.SignOff
			at string
		)
		if err := rows.Scan(&s.ID, &s.Release, &s.Service, &s.Gate, &s.Approver, &s.Via, &s.Reason, &at); err != nil {
			return nil, err
		}
		if s.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("sign-off %d: %w", s.ID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func waiverRows(ctx context.Context, q queryer, release string) ([]gates.Waiver, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, release, service, gate, env, approver, via, requested_by, reason, created_at, expires_at
		FROM gate_waivers WHERE release = ? ORDER BY id`, release)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gates.Waiver
	for rows.Next() {
		var (
			w       gates.Waiver
			at      string
			expires sql.NullString
		)
		if err := rows.Scan(&w.ID, &w.Release, &w.Service, &w.Gate, &w.Env, &w.Approver, &w.Via, &w.RequestedBy, &w.Reason, &at, &expires); err != nil {
			return nil, err
		}
		if w.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("waiver %d: %w", w.ID, err)
		}
		if expires.Valid {
			if w.Expires, err = parseTime(expires.String); err != nil {
				return nil, fmt.Errorf("waiver %d: expires_at: %w", w.ID, err)
			}
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// checkTarget checks, in the transaction, that the release exists, the
// service is in its scope and the gate exists, and returns the gate.
func (t *Tx) checkTarget(ctx context.Context, release, service, gate string) (model.Gate, error) {
	rel, err := decodeRecord[model.Release](ctx, t, model.KindRelease, release)
	if err != nil {
		return model.Gate{}, err
	}
	if !slices.ContainsFunc(rel.Scope, func(s model.ScopeItem) bool { return s.Service == service }) {
		var names []string
		for _, s := range rel.Scope {
			names = append(names, s.Service)
		}
		return model.Gate{}, fmt.Errorf("service %q is not in the scope of release %s (its services: %s): %w",
			service, release, strings.Join(names, ", "), ErrNotFound)
	}
	return decodeRecord[model.Gate](ctx, t, model.KindGate, gate)
}

// decodeRecord returns a spec object as the transaction sees it, decoded
// once per transaction.
func decodeRecord[T model.Object](ctx context.Context, t *Tx, kind model.Kind, name string) (T, error) {
	var zero T
	o, ok := t.decoded[kind][name]
	if !ok {
		r, err := t.Record(ctx, kind, name)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return zero, fmt.Errorf("no %s named %q: %w", kind, name, ErrNotFound)
			}
			return zero, err
		}
		if o, err = r.Decode(); err != nil {
			return zero, err
		}
		if t.decoded == nil {
			t.decoded = map[model.Kind]map[string]model.Object{}
		}
		if t.decoded[kind] == nil {
			t.decoded[kind] = map[string]model.Object{}
		}
		t.decoded[kind][name] = o
	}
	v, ok := o.(T)
	if !ok {
		return zero, fmt.Errorf("%s %q: unexpected object %T", kind, name, o)
	}
	return v, nil
}

type runStarter struct{ run, by string }

// unfinishedStarters lists who started each unfinished run of release.
func (t *Tx) unfinishedStarters(ctx context.Context, release string) ([]runStarter, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id, started_by FROM deploy_runs
		WHERE release = ? AND finished_at IS NULL ORDER BY created_at DESC, rowid DESC`, release)
	if err != nil {
		return nil, t.s.busy(err)
	}
	defer rows.Close()
	var out []runStarter
	for rows.Next() {
		var s runStarter
		if err := rows.Scan(&s.run, &s.by); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// GateStatus evaluates, as of now, the gates env requires (every
// environment's the release goes through when env is "") for the
// release's services, or only for those named when services is not
// empty (the engine's pre-flight check of one wave). It reads the
// release, environments and gates, and the release's gate records: four
// queries whatever the size of the release. The error matches
// gates.ErrUnknown for an unknown release or environment.
func (s *Store) GateStatus(ctx context.Context, release, env string, services []string, now time.Time, policy gates.Policy) ([]gates.Result, error) {
	org, err := s.OrgOf(ctx, model.KindRelease, model.KindEnvironment, model.KindGate)
	if err != nil {
		return nil, err
	}
	sc, err := gates.Required(model.NewIndex(org), release, env)
	if err != nil {
		return nil, fmt.Errorf("store: gate status: %w", err)
	}
	if len(services) > 0 {
		sc = sc.Only(services)
	}
	rec, err := s.GateRecords(ctx, release)
	if err != nil {
		return nil, err
	}
	req := sc.Request(env, now)
	req.Policy = policy
	return gates.Evaluate(req, rec), nil
}
