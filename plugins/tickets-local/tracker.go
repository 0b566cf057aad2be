package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

const (
	defaultDBFile = "tickets.db"
	defaultURL    = "local:"
)

// settingSpecs documents every setting; Configure refuses any other.
var settingSpecs = []sdk.SettingSpec{
	{Name: "path", Description: "SQLite file of the tracker; a relative path is relative to the state dir.", Default: defaultDBFile},
	{Name: "url", Description: "Base of the URL shown for a change; the change id is appended.", Default: defaultURL},
	{Name: "approvals_required", Description: "Distinct approvers a normal change needs before it is approved (emergency changes need one; standard changes are pre-approved).", Default: "1"},
}

type settings struct {
	path              string
	url               string
	approvalsRequired int
}

func parseSettings(cfg sdk.Config) (settings, error) {
	s := settings{url: defaultURL, approvalsRequired: 1}
	names := make([]string, 0, len(cfg.Settings))
	for name := range cfg.Settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := strings.TrimSpace(cfg.Settings[name])
		switch name {
		case "path":
			s.path = v
		case "url":
			if v != "" {
				s.url = v
			}
		case "approvals_required":
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: setting approvals_required: %q is not a number from 1 to 100", v)
			}
			s.approvalsRequired = n
		default:
			known := make([]string, len(settingSpecs))
			for i, sp := range settingSpecs {
				known[i] = sp.Name
			}
			return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: unknown setting %q; the known settings are %s",
				name, strings.Join(known, ", "))
		}
	}
	switch {
	case s.path == "" && cfg.StateDir == "":
		return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: no path setting and no state dir: nowhere to keep the tracker")
	case s.path == "":
		s.path = filepath.Join(cfg.StateDir, defaultDBFile)
	case !filepath.IsAbs(s.path) && cfg.StateDir != "":
		s.path = filepath.Join(cfg.StateDir, s.path)
	}
	return s, nil
}

// tracker is the local ticketing system.
type tracker struct {
	mu  sync.Mutex
	db  *sql.DB
	cfg settings
	// now is the clock; nil means time.Now.
	now func() time.Time
}

var _ sdk.Ticketing = (*tracker)(nil)

// Configure validates the settings and opens the database. Called again,
// it replaces both.
func (t *tracker) Configure(ctx context.Context, cfg sdk.Config) error {
	s, err := parseSettings(cfg)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, s.path)
	if err != nil {
		if sdk.CodeOf(err) == sdk.CodeUnavailable {
			return err // locked by another process: worth a retry
		}
		return sdk.Errorf(sdk.CodeInvalid, "tickets-local: setting path: %v", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.db != nil {
		t.db.Close()
	}
	t.db, t.cfg = db, s
	return nil
}

// Close closes the database.
func (t *tracker) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.db == nil {
		return nil
	}
	err := t.db.Close()
	t.db = nil
	return err
}

func (t *tracker) state() (*sql.DB, settings, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.db == nil {
		return nil, settings{}, sdk.Errorf(sdk.CodeFailedPrecondition, "tickets-local: not configured yet")
	}
	return t.db, t.cfg, nil
}

func (t *tracker) clock() time.Time {
	if t.now != nil {
		return t.now().UTC()
	}
	return time.Now().UTC()
}

// Describe says what the tracker offers.
func (t *tracker) Describe(ctx context.Context) (sdk.TicketingCapabilities, error) {
	t.mu.Lock()
	url := t.cfg.url
	t.mu.Unlock()
	if url == "" {
		url = defaultURL
	}
	return sdk.TicketingCapabilities{
		System:    "local",
		URL:       url,
		States:    slices.Clone(states),
		Approvals: true,
		Channels:  []string{"outbox"},
	}, nil
}

// normalizeSpec checks a change spec and returns it with its class
// settled and its times in UTC.
func normalizeSpec(s sdk.ChangeSpec) (sdk.ChangeSpec, error) {
	s.Title = strings.TrimSpace(s.Title)
	if s.Title == "" {
		return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: a change needs a title")
	}
	s.Class = strings.ToLower(strings.TrimSpace(s.Class))
	switch s.Class {
	case "":
		s.Class = classNormal
	case classStandard, classNormal, classEmergency:
	default:
		return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: class %q is not standard, normal or emergency", s.Class)
	}
	if s.Risk < 0 || s.Risk > 100 {
		return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: risk %g is outside 0..100", s.Risk)
	}
	if !s.WindowStart.IsZero() && !s.WindowEnd.IsZero() && s.WindowEnd.Before(s.WindowStart) {
		return s, sdk.Errorf(sdk.CodeInvalid, "tickets-local: the window ends (%s) before it starts (%s)",
			s.WindowEnd.UTC().Format(time.RFC3339), s.WindowStart.UTC().Format(time.RFC3339))
	}
	s.WindowStart, s.WindowEnd = s.WindowStart.UTC(), s.WindowEnd.UTC()
	s.RequestedBy = strings.TrimSpace(s.RequestedBy)
	return s, nil
}

// nullable stores an empty key as NULL, so that keyless rows never clash.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateChange files a change; a key already used returns its change.
func (t *tracker) CreateChange(ctx context.Context, req sdk.CreateChangeRequest) (sdk.Change, error) {
	db, cfg, err := t.state()
	if err != nil {
		return sdk.Change{}, err
	}
	spec, err := normalizeSpec(req.Spec)
	if err != nil {
		return sdk.Change{}, err
	}
	var out sdk.Change
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		if req.IdempotencyKey != "" {
			r, err := scanRow(tx.QueryRowContext(ctx,
				`SELECT seq, id, state, class, round, spec, created_at, updated_at FROM changes WHERE idempotency_key = ?`,
				req.IdempotencyKey))
			if err == nil {
				out, err = loadChange(ctx, tx, r, cfg.url)
				return err
			}
			if !errors.Is(err, errNoChange) {
				return err
			}
		}
		state := stateSubmitted
		if spec.Class == classStandard {
			state = stateApproved // pre-approved by policy
		}
		specJSON, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		now := formatTime(t.clock())
		res, err := tx.ExecContext(ctx,
			`INSERT INTO changes (idempotency_key, state, class, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			nullable(req.IdempotencyKey), state, spec.Class, string(specJSON), now, now)
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		id := fmt.Sprintf("CHG-%06d", seq)
		if _, err := tx.ExecContext(ctx, `UPDATE changes SET id = ? WHERE seq = ?`, id, seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO transitions (change_seq, from_state, to_state, actor, reason, at) VALUES (?, '', ?, ?, 'filed', ?)`,
			seq, state, spec.RequestedBy, now); err != nil {
			return err
		}
		r, err := loadRow(ctx, tx, id)
		if err != nil {
			return err
		}
		out, err = loadChange(ctx, tx, r, cfg.url)
		return err
	})
	if err != nil {
		return sdk.Change{}, wrap("create change", err)
	}
	return out, nil
}

// wrap gives an error the call's context, keeping coded errors' codes.
func wrap(what string, err error) error {
	var e *sdk.Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("tickets-local: %s: %w", what, err)
}

func notFound(id string) error {
	return sdk.Errorf(sdk.CodeNotFound, "tickets-local: change %s not found", id)
}

// GetChange returns a change by id.
func (t *tracker) GetChange(ctx context.Context, id string) (sdk.Change, error) {
	db, cfg, err := t.state()
	if err != nil {
		return sdk.Change{}, err
	}
	id = strings.ToUpper(strings.TrimSpace(id))
	var out sdk.Change
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		r, err := loadRow(ctx, tx, id)
		if errors.Is(err, errNoChange) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		out, err = loadChange(ctx, tx, r, cfg.url)
		return err
	})
	if err != nil {
		return sdk.Change{}, wrap("get change "+id, err)
	}
	return out, nil
}

// Comment adds a comment to a change.
func (t *tracker) Comment(ctx context.Context, req sdk.CommentRequest) (sdk.Change, error) {
	db, cfg, err := t.state()
	if err != nil {
		return sdk.Change{}, err
	}
	id := strings.ToUpper(strings.TrimSpace(req.ID))
	author, body := strings.TrimSpace(req.Author), strings.TrimSpace(req.Body)
	if author == "" || body == "" {
		return sdk.Change{}, sdk.Errorf(sdk.CodeInvalid, "tickets-local: a comment needs an author and a body")
	}
	var out sdk.Change
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		r, err := loadRow(ctx, tx, id)
		if errors.Is(err, errNoChange) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		now := formatTime(t.clock())
		if err := addComment(ctx, tx, r.seq, author, body, now); err != nil {
			return err
		}
		if r, err = touch(ctx, tx, r, r.state, now); err != nil {
			return err
		}
		out, err = loadChange(ctx, tx, r, cfg.url)
		return err
	})
	if err != nil {
		return sdk.Change{}, wrap("comment on "+id, err)
	}
	return out, nil
}

func addComment(ctx context.Context, tx *sql.Tx, seq int64, author, body, at string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO comments (change_seq, author, body, at) VALUES (?, ?, ?, ?)`,
		seq, author, body, at)
	return err
}

// touch sets a change's state and update time, and rereads its row.
func touch(ctx context.Context, tx *sql.Tx, r changeRow, state, at string) (changeRow, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE changes SET state = ?, updated_at = ? WHERE seq = ?`,
		state, at, r.seq); err != nil {
		return r, err
	}
	return loadRow(ctx, tx, r.id)
}

// Transition moves a change through its lifecycle; a move to "approved"
// is an approval (see the package documentation).
func (t *tracker) Transition(ctx context.Context, req sdk.TransitionRequest) (sdk.Change, error) {
	db, cfg, err := t.state()
	if err != nil {
		return sdk.Change{}, err
	}
	id := strings.ToUpper(strings.TrimSpace(req.ID))
	to := strings.ToLower(strings.TrimSpace(req.ToState))
	if !knownState(to) {
		return sdk.Change{}, sdk.Errorf(sdk.CodeInvalid, "tickets-local: unknown state %q; the states are %s",
			req.ToState, strings.Join(states, ", "))
	}
	actor, role, reason := strings.TrimSpace(req.Actor), strings.TrimSpace(req.Role), strings.TrimSpace(req.Reason)
	var out sdk.Change
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		r, err := loadRow(ctx, tx, id)
		if errors.Is(err, errNoChange) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		now := formatTime(t.clock())
		from := r.state
		switch {
		case to == stateApproved && (from == stateSubmitted || from == stateApproved):
			r, err = t.approve(ctx, tx, cfg, r, actor, role, reason, now)
		case to == from:
			// Already there: a retried call.
		case !canMove(from, to):
			return sdk.Errorf(sdk.CodeFailedPrecondition, "tickets-local: %s", refusal(id, from, to))
		default:
			r, err = t.move(ctx, tx, r, to, actor, role, reason, now)
		}
		if err != nil {
			return err
		}
		out, err = loadChange(ctx, tx, r, cfg.url)
		return err
	})
	if err != nil {
		return sdk.Change{}, wrap(fmt.Sprintf("move %s to %s", id, to), err)
	}
	return out, nil
}

// move makes an ordinary transition (not an approval).
func (t *tracker) move(ctx context.Context, tx *sql.Tx, r changeRow, to, actor, role, reason, now string) (changeRow, error) {
	switch {
	case to == stateRejected:
		if actor == "" {
			return r, sdk.Errorf(sdk.CodeInvalid, "tickets-local: rejecting a change needs an actor")
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO approvals (change_seq, round, approver, role, decision, comment, at) VALUES (?, ?, ?, ?, 'rejected', ?, ?)`,
			r.seq, r.round, actor, role, reason, now); err != nil {
			return r, err
		}
	case to == stateSubmitted:
		// Only a draft is submitted, and every draft was submitted once
		// (a change is filed submitted): earlier approvals no longer count.
		if _, err := tx.ExecContext(ctx, `UPDATE changes SET round = round + 1 WHERE seq = ?`, r.seq); err != nil {
			return r, err
		}
	}
	if reason != "" && to != stateRejected {
		author := actor
		if author == "" {
			author = "warroom"
		}
		if err := addComment(ctx, tx, r.seq, author, fmt.Sprintf("%s → %s: %s", r.state, to, reason), now); err != nil {
			return r, err
		}
	}
	if err := recordTransition(ctx, tx, r.seq, r.state, to, actor, role, reason, now); err != nil {
		return r, err
	}
	return touch(ctx, tx, r, to, now)
}

func recordTransition(ctx context.Context, tx *sql.Tx, seq int64, from, to, actor, role, reason, at string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO transitions (change_seq, from_state, to_state, actor, role, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		seq, from, to, actor, role, reason, at)
	return err
}

// approve records an approval and approves the change once its
// approvers are enough.
func (t *tracker) approve(ctx context.Context, tx *sql.Tx, cfg settings, r changeRow, actor, role, reason, now string) (changeRow, error) {
	if actor == "" {
		return r, sdk.Errorf(sdk.CodeInvalid, "tickets-local: an approval needs an actor")
	}
	if r.spec.RequestedBy != "" && strings.EqualFold(actor, r.spec.RequestedBy) {
		return r, sdk.Errorf(sdk.CodeFailedPrecondition,
			"tickets-local: nobody approves their own change: %s requested %s", actor, r.id)
	}
	type approval struct{ approver, role string }
	var got []approval
	rows, err := tx.QueryContext(ctx,
		`SELECT approver, role FROM approvals WHERE change_seq = ? AND round = ? AND decision = 'approved' ORDER BY seq`,
		r.seq, r.round)
	if err != nil {
		return r, err
	}
	for rows.Next() {
		var a approval
		if err := rows.Scan(&a.approver, &a.role); err != nil {
			rows.Close()
			return r, err
		}
		got = append(got, a)
	}
	if err := rows.Close(); err != nil {
		return r, err
	}
	if slices.ContainsFunc(got, func(a approval) bool { return strings.EqualFold(a.approver, actor) }) {
		return r, nil // one person, one approval per round
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO approvals (change_seq, round, approver, role, decision, comment, at) VALUES (?, ?, ?, ?, 'approved', ?, ?)`,
		r.seq, r.round, actor, role, reason, now); err != nil {
		return r, err
	}
	got = append(got, approval{actor, role})
	if r.state == stateApproved {
		return touch(ctx, tx, r, r.state, now) // a further sign-off
	}

	need := cfg.approvalsRequired
	if r.class == classEmergency {
		need = 1
	}
	enough := len(got) >= need
	for _, want := range r.spec.ApproversRequired {
		if want = strings.TrimSpace(want); want == "" {
			continue
		}
		if !slices.ContainsFunc(got, func(a approval) bool {
			return strings.EqualFold(a.approver, want) || strings.EqualFold(a.role, want)
		}) {
			enough = false
		}
	}
	if !enough {
		return touch(ctx, tx, r, r.state, now)
	}
	if err := recordTransition(ctx, tx, r.seq, r.state, stateApproved, actor, role, reason, now); err != nil {
		return r, err
	}
	return touch(ctx, tx, r, stateApproved, now)
}

// Notify stores a message in the outbox; a key already used returns the
// first result.
func (t *tracker) Notify(ctx context.Context, req sdk.NotifyRequest) (sdk.NotifyResult, error) {
	db, _, err := t.state()
	if err != nil {
		return sdk.NotifyResult{}, err
	}
	var to []string
	for _, r := range req.To {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(to, r) {
			to = append(to, r)
		}
	}
	if len(to) == 0 {
		return sdk.NotifyResult{}, sdk.Errorf(sdk.CodeInvalid, "tickets-local: a notification needs recipients")
	}
	if strings.TrimSpace(req.Subject) == "" && strings.TrimSpace(req.Body) == "" {
		return sdk.NotifyResult{}, sdk.Errorf(sdk.CodeInvalid, "tickets-local: a notification needs a subject or a body")
	}
	severity := strings.ToLower(strings.TrimSpace(req.Severity))
	switch severity {
	case "":
		severity = "info"
	case "info", "warning", "critical":
	default:
		return sdk.NotifyResult{}, sdk.Errorf(sdk.CodeInvalid, "tickets-local: severity %q is not info, warning or critical", req.Severity)
	}
	channel := strings.TrimSpace(req.Channel)
	if channel == "" {
		channel = "outbox"
	}
	changeID := strings.ToUpper(strings.TrimSpace(req.ChangeID))

	var out sdk.NotifyResult
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		if req.IdempotencyKey != "" {
			var id, recipients string
			err := tx.QueryRowContext(ctx, `SELECT id, recipients FROM outbox WHERE idempotency_key = ?`,
				req.IdempotencyKey).Scan(&id, &recipients)
			if err == nil {
				out.MessageID = id
				return json.Unmarshal([]byte(recipients), &out.Delivered)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if changeID != "" {
			if _, err := loadRow(ctx, tx, changeID); errors.Is(err, errNoChange) {
				return notFound(changeID)
			} else if err != nil {
				return err
			}
		}
		recipients, err := json.Marshal(to)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO outbox (idempotency_key, recipients, subject, body, severity, change_id, channel, at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			nullable(req.IdempotencyKey), string(recipients), req.Subject, req.Body, severity,
			nullable(changeID), channel, formatTime(t.clock()))
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		out = sdk.NotifyResult{Delivered: to, MessageID: fmt.Sprintf("MSG-%06d", seq)}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET id = ? WHERE seq = ?`, out.MessageID, seq)
		return err
	})
	if err != nil {
		return sdk.NotifyResult{}, wrap("notify", err)
	}
	return out, nil
}
