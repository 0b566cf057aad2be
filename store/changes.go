package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// ChangeRecord is a change request as warroom records it: its own id, and
// the state and approvals mirrored from the ticketing plugin that holds
// the ticket.
type ChangeRecord struct {
	ID        string           `json:"id"` // CHG-0001...; empty asks RecordChange to find or allocate it
	Release   string           `json:"release"`
	Title     string           `json:"title"`
	Requester string           `json:"requester"`
	Class     string           `json:"class"` // standard, normal, emergency
	State     string           `json:"state"` // as the ticketing system says
	Risk      float64          `json:"risk"`
	Backout   string           `json:"backout"`
	System    string           `json:"system"`     // the ticketing plugin's name
	TicketRef string           `json:"ticket_ref"` // the id in the ticketing system
	URL       string           `json:"url"`
	Approvals []ChangeApproval `json:"approvals"` // history, oldest first
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// ChangeApproval is one decision on a change. Decision is "approve" or
// "reject"; RecordChange also takes the ticketing words "approved" and
// "rejected".
type ChangeApproval struct {
	Approver string `json:"approver"`
	// Via is the delegate that recorded the decision for Approver ("":
	// the approver did).
	Via      string    `json:"via,omitempty"`
	Role     string    `json:"role"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// key identifies a decision, so that mirroring the same history twice adds
// nothing.
func (a ChangeApproval) key() string {
	return a.Approver + "\x00" + a.Role + "\x00" + a.Decision + "\x00" + formatTime(a.At)
}

func normalDecision(d string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(d)) {
	case "approve", "approved":
		return "approve", nil
	case "reject", "rejected":
		return "reject", nil
	}
	return "", fmt.Errorf("decision %q is neither approve nor reject", d)
}

// RecordChange records a change request, audited: a new one (no row with
// its id, or with its ticket) is inserted with the next CHG-NNNN id when
// c.ID is empty; a known one is updated, and approvals it did not have are
// appended to its history (approvals already recorded are kept). Recording
// what is already there changes nothing and returns a nil event. It
// returns the change as stored.
func (s *Store) RecordChange(ctx context.Context, actor string, c ChangeRecord) (ChangeRecord, *model.AuditEvent, error) {
	if c.Title == "" || c.Requester == "" || c.Class == "" || c.State == "" {
		return c, nil, fmt.Errorf("store: record change %s: title, requester, class and state are required", c.ID)
	}
	for i := range c.Approvals {
		d, err := normalDecision(c.Approvals[i].Decision)
		if err != nil {
			return c, nil, fmt.Errorf("store: record change %s: approval by %s: %w", c.ID, c.Approvals[i].Approver, err)
		}
		c.Approvals[i].Decision = d
	}
	var out ChangeRecord
	ev, err := s.Write(ctx, actor, "change", func(ctx context.Context, tx *Tx) (Change, error) {
		old, found, err := tx.findChange(ctx, c)
		if err != nil {
			return Change{}, err
		}
		if !found && c.ID == "" {
			if c.ID, err = tx.nextChangeID(ctx); err != nil {
				return Change{}, err
			}
		}
		if found {
			c.ID = old.ID
			c.CreatedAt = old.CreatedAt
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = tx.now
		}
		if c.UpdatedAt.IsZero() {
			c.UpdatedAt = tx.now
		}
		have := map[string]bool{}
		for _, a := range old.Approvals {
			have[a.key()] = true
		}
		var added []ChangeApproval
		for _, a := range c.Approvals {
			if !have[a.key()] {
				have[a.key()] = true
				added = append(added, a)
			}
		}
		diffs := changeDiffs(old, c)
		if found && len(diffs) == 0 && len(added) == 0 {
			out = old
			return Change{}, nil
		}
		if _, err := tx.tx.ExecContext(ctx, `
			INSERT INTO change_requests (id, release, title, requester, class, state, risk_score, backout,
				ticket_ref, ticket_system, ticket_url, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				release = excluded.release, title = excluded.title, requester = excluded.requester,
				class = excluded.class, state = excluded.state, risk_score = excluded.risk_score,
				backout = excluded.backout, ticket_ref = excluded.ticket_ref,
				ticket_system = excluded.ticket_system, ticket_url = excluded.ticket_url,
				updated_at = excluded.updated_at`,
			c.ID, nullString(c.Release), c.Title, c.Requester, c.Class, c.State, c.Risk, c.Backout,
			nullString(c.TicketRef), c.System, c.URL, formatTime(c.CreatedAt), formatTime(c.UpdatedAt)); err != nil {
			return Change{}, fmt.Errorf("store: record change %s: %w", c.ID, err)
		}
		for _, a := range added {
			if _, err := tx.tx.ExecContext(ctx,
				`INSERT INTO change_approvals (change_id, approver, via, role, decision, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				c.ID, a.Approver, a.Via, a.Role, a.Decision, a.Reason, formatTime(a.At)); err != nil {
				return Change{}, fmt.Errorf("store: record change %s: approval by %s: %w", c.ID, a.Approver, err)
			}
		}
		if out, _, err = tx.findChange(ctx, ChangeRecord{ID: c.ID}); err != nil {
			return Change{}, err
		}
		return Change{Summary: changeSummary(found, out, diffs, len(added)), Payload: out}, nil
	})
	if err != nil {
		return c, nil, err
	}
	return out, ev, nil
}

// changeDiffs says, for people, which fields of a recorded change differ.
func changeDiffs(old, c ChangeRecord) []string {
	var d []string
	if old.State != c.State {
		d = append(d, fmt.Sprintf("state %s → %s", old.State, c.State))
	}
	for _, f := range []struct{ name, a, b string }{
		{"release", old.Release, c.Release}, {"title", old.Title, c.Title}, {"requester", old.Requester, c.Requester},
		{"class", old.Class, c.Class}, {"backout plan", old.Backout, c.Backout}, {"ticket", old.TicketRef, c.TicketRef},
		{"ticketing system", old.System, c.System}, {"url", old.URL, c.URL},
	} {
		if f.a != f.b {
			d = append(d, f.name+" changed")
		}
	}
	if old.Risk != c.Risk {
		d = append(d, fmt.Sprintf("risk %g → %g", old.Risk, c.Risk))
	}
	return d
}

func changeSummary(updated bool, c ChangeRecord, diffs []string, added int) string {
	if !updated {
		s := "filed change " + c.ID
		if c.Release != "" {
			s += " for release " + c.Release
		}
		if c.System != "" {
			s += " in " + c.System
		}
		if c.TicketRef != "" {
			s += " as " + c.TicketRef
		}
		if added > 0 {
			s += fmt.Sprintf(" (%d %s)", added, plural(added, "approval", "approvals"))
		}
		return s
	}
	if added > 0 {
		diffs = append(diffs, fmt.Sprintf("%d %s recorded", added, plural(added, "approval", "approvals")))
	}
	return "change " + c.ID + ": " + strings.Join(diffs, "; ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// nextChangeID allocates CHG-NNNN after the highest number in use.
func (t *Tx) nextChangeID(ctx context.Context) (string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT id FROM change_requests WHERE id LIKE 'CHG-%'`)
	if err != nil {
		return "", fmt.Errorf("store: next change id: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("store: next change id: %w", err)
		}
		if v, err := strconv.Atoi(strings.TrimPrefix(id, "CHG-")); err == nil && v > n {
			n = v
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("store: next change id: %w", err)
	}
	return fmt.Sprintf("CHG-%04d", n+1), nil
}

// findChange finds c by id, or else by its ticket.
func (t *Tx) findChange(ctx context.Context, c ChangeRecord) (ChangeRecord, bool, error) {
	var where string
	var args []any
	switch {
	case c.ID != "":
		where, args = `id = ?`, []any{c.ID}
	case c.TicketRef != "":
		where, args = `ticket_system = ? AND ticket_ref = ?`, []any{c.System, c.TicketRef}
	default:
		return ChangeRecord{}, false, nil
	}
	list, err := changes(ctx, t.tx, where, args...)
	if err != nil {
		return ChangeRecord{}, false, fmt.Errorf("store: find change: %w", t.s.busy(err))
	}
	if len(list) == 0 {
		return ChangeRecord{}, false, nil
	}
	return list[0], true, nil
}

// Changes returns the recorded change requests of release (all of them
// when release is empty), newest first, each with its approvals oldest
// first.
func (s *Store) Changes(ctx context.Context, release string) ([]ChangeRecord, error) {
	where, args := "", []any(nil)
	if release != "" {
		where, args = `release = ?`, []any{release}
	}
	list, err := changes(ctx, s.r, where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: changes: %w", s.busy(err))
	}
	return list, nil
}

// Change returns one recorded change request; ErrNotFound when there is
// none with that id.
func (s *Store) Change(ctx context.Context, id string) (ChangeRecord, error) {
	list, err := changes(ctx, s.r, `id = ?`, id)
	if err != nil {
		return ChangeRecord{}, fmt.Errorf("store: change %s: %w", id, s.busy(err))
	}
	if len(list) == 0 {
		return ChangeRecord{}, fmt.Errorf("store: change %s: %w", id, ErrNotFound)
	}
	return list[0], nil
}

func changes(ctx context.Context, q queryer, where string, args ...any) ([]ChangeRecord, error) {
	query := `SELECT id, release, title, requester, class, state, risk_score, backout, ticket_ref,
		ticket_system, ticket_url, created_at, updated_at FROM change_requests`
	if where != "" {
		query += " WHERE " + where
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, err
	}
	var out []ChangeRecord
	for rows.Next() {
		var (
			c                ChangeRecord
			release, ref     sql.NullString
			risk             sql.NullFloat64
			created, updated string
		)
		if err := rows.Scan(&c.ID, &release, &c.Title, &c.Requester, &c.Class, &c.State, &risk, &c.Backout, &ref,
			&c.System, &c.URL, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		c.Release, c.TicketRef, c.Risk = release.String, ref.String, risk.Float64
		var err1, err2 error
		c.CreatedAt, err1 = parseTime(created)
		c.UpdatedAt, err2 = parseTime(updated)
		if err := errors.Join(err1, err2); err != nil {
			rows.Close()
			return nil, fmt.Errorf("change %s: %w", c.ID, err)
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Approvals, err = approvals(ctx, q, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func approvals(ctx context.Context, q queryer, id string) ([]ChangeApproval, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT approver, via, role, decision, reason, at FROM change_approvals WHERE change_id = ? ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ChangeApproval{}
	for rows.Next() {
		var a ChangeApproval
		var at string
		if err := rows.Scan(&a.Approver, &a.Via, &a.Role, &a.Decision, &a.Reason, &at); err != nil {
			return nil, err
		}
		if a.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("change %s: approval by %s: %w", id, a.Approver, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ApproveChange records a decision ("approve" or "reject") on a change by
// by in role, audited as "change approve". It refuses, writing nothing,
// an unknown change and (a *FourEyesError, in enforced mode) a decision
// by the change's filer, directly or through a delegate. Whether by holds
// role is the policy's check, made before.
func (s *Store) ApproveChange(ctx context.Context, by Actor, id, role, decision, reason string) (ChangeRecord, *model.AuditEvent, error) {
	d, err := normalDecision(decision)
	if err != nil {
		return ChangeRecord{}, nil, fmt.Errorf("store: change %s: %w", id, err)
	}
	var out ChangeRecord
	ev, err := s.Write(ctx, by.String(), "change approve", func(ctx context.Context, tx *Tx) (Change, error) {
		c, found, err := tx.findChange(ctx, ChangeRecord{ID: id})
		if err != nil {
			return Change{}, err
		}
		if !found {
			return Change{}, fmt.Errorf("store: change %s: %w", id, ErrNotFound)
		}
		if err := tx.fourEyes(ctx, by, d+" change "+id, ParseActor(c.Requester), "filed the change"); err != nil {
			return Change{}, err
		}
		// The schema's trigger compares plain names; the check above
		// already covered delegates, so this only fails for a caller
		// that bypassed it.
		if _, err := tx.tx.ExecContext(ctx,
			`INSERT INTO change_approvals (change_id, approver, via, role, decision, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, by.Person, by.Via, role, d, reason, formatTime(tx.now)); err != nil {
			return Change{}, fmt.Errorf("store: change %s: %w", id, tx.s.busy(err))
		}
		if out, _, err = tx.findChange(ctx, ChangeRecord{ID: id}); err != nil {
			return Change{}, err
		}
		return Change{Summary: fmt.Sprintf("change %s: %s by %s as %s", id, d, by, role), Payload: out}, nil
	})
	if err != nil {
		return ChangeRecord{}, nil, err
	}
	return out, ev, nil
}
