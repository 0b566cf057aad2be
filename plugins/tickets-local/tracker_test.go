package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// fakeClock ticks a second per reading, in a zone other than UTC so that
// a time stored unconverted would show.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 10, 0, 0, 0, time.FixedZone("CEST", 2*3600))}
}

func open(t *testing.T, stateDir string, settings map[string]string) *tracker {
	t.Helper()
	tr := &tracker{now: newClock().now}
	if err := tr.Configure(context.Background(), sdk.Config{Settings: settings, StateDir: stateDir}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func newTracker(t *testing.T, settings map[string]string) *tracker {
	t.Helper()
	return open(t, t.TempDir(), settings)
}

func wantCode(t *testing.T, err error, code sdk.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d", code)
	}
	if got := sdk.CodeOf(err); got != code {
		t.Fatalf("code %d, want %d: %v", got, code, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func spec(class string) sdk.ChangeSpec {
	return sdk.ChangeSpec{
		Release: "2025.06", Title: "Ship api 1.5.0", Class: class, Risk: 35, Impact: "api, web",
		BackoutPlan: "roll back to 1.4.0", Stakeholders: []string{"ops@example.com"},
		Services:    []string{"api"},
		WindowStart: time.Date(2025, 6, 2, 22, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		WindowEnd:   time.Date(2025, 6, 2, 23, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		RequestedBy: "alice",
	}
}

func create(t *testing.T, tr *tracker, key string, s sdk.ChangeSpec) sdk.Change {
	t.Helper()
	c, err := tr.CreateChange(context.Background(), sdk.CreateChangeRequest{IdempotencyKey: key, Spec: s})
	if err != nil {
		t.Fatalf("CreateChange: %v", err)
	}
	return c
}

func move(t *testing.T, tr *tracker, id, to, actor, role string) sdk.Change {
	t.Helper()
	c, err := tr.Transition(context.Background(), sdk.TransitionRequest{ID: id, ToState: to, Actor: actor, Role: role})
	if err != nil {
		t.Fatalf("Transition %s to %s by %s: %v", id, to, actor, err)
	}
	return c
}

func TestConfigure(t *testing.T) {
	ctx := context.Background()
	for name, tt := range map[string]struct {
		settings map[string]string
		want     string
	}{
		"unknown":              {map[string]string{"approvals": "2"}, `unknown setting "approvals"; the known settings are path, url, approvals_required`},
		"approvals not number": {map[string]string{"approvals_required": "two"}, "approvals_required"},
		"approvals zero":       {map[string]string{"approvals_required": "0"}, "approvals_required"},
	} {
		t.Run(name, func(t *testing.T) {
			err := (&tracker{}).Configure(ctx, sdk.Config{Settings: tt.settings, StateDir: t.TempDir()})
			wantCode(t, err, sdk.CodeInvalid, tt.want)
		})
	}
	t.Run("bad path", func(t *testing.T) {
		err := (&tracker{}).Configure(ctx, sdk.Config{Settings: map[string]string{"path": "/proc/no/such/tickets.db"}})
		wantCode(t, err, sdk.CodeInvalid, "setting path")
	})
	t.Run("nowhere", func(t *testing.T) {
		wantCode(t, (&tracker{}).Configure(ctx, sdk.Config{}), sdk.CodeInvalid)
	})
	t.Run("not configured", func(t *testing.T) {
		_, err := (&tracker{}).GetChange(ctx, "CHG-000001")
		wantCode(t, err, sdk.CodeFailedPrecondition)
	})
	t.Run("path and url", func(t *testing.T) {
		dir := t.TempDir()
		tr := open(t, dir, map[string]string{"path": "sub/changes.db", "url": "https://tickets.example.com/"})
		if tr.cfg.path != filepath.Join(dir, "sub", "changes.db") {
			t.Errorf("path %s", tr.cfg.path)
		}
		c := create(t, tr, "", spec("normal"))
		if c.URL != "https://tickets.example.com/CHG-000001" {
			t.Errorf("URL %s", c.URL)
		}
		caps, _ := tr.Describe(ctx)
		if caps.URL != "https://tickets.example.com/" {
			t.Errorf("Describe URL %s", caps.URL)
		}
	})
	t.Run("default path", func(t *testing.T) {
		dir := t.TempDir()
		tr := open(t, dir, nil)
		if tr.cfg.path != filepath.Join(dir, "tickets.db") || tr.cfg.approvalsRequired != 1 || tr.cfg.url != "local:" {
			t.Errorf("settings %+v", tr.cfg)
		}
		var mode string
		var fk, timeout int
		tr.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
		tr.db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
		tr.db.QueryRow("PRAGMA busy_timeout").Scan(&timeout)
		if mode != "wal" || fk != 1 || timeout < 1000 {
			t.Errorf("journal_mode %s, foreign_keys %d, busy_timeout %d", mode, fk, timeout)
		}
	})
}

func TestDescribe(t *testing.T) {
	caps, err := newTracker(t, nil).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.TicketingCapabilities{
		System: "local", URL: "local:", Approvals: true, Channels: []string{"outbox"},
		States: []string{"draft", "submitted", "approved", "scheduled", "implementing", "implemented",
			"closed", "rejected", "cancelled", "failed"},
	}
	if !reflect.DeepEqual(caps, want) {
		t.Errorf("Describe = %+v", caps)
	}
}

func TestTransitionTableIsClosed(t *testing.T) {
	for _, s := range states {
		next, ok := transitions[s]
		if !ok {
			t.Errorf("state %s has no row", s)
		}
		for _, n := range next {
			if !knownState(n) {
				t.Errorf("%s -> unknown %s", s, n)
			}
		}
	}
}

func TestWholeLifecycle(t *testing.T) {
	ctx := context.Background()
	tr := newTracker(t, nil)
	c := create(t, tr, "rel-1/api", spec(""))
	if c.ID != "CHG-000001" || c.State != "submitted" || c.URL != "local:CHG-000001" || c.Spec.Class != "normal" {
		t.Fatalf("created %+v", c)
	}
	if c.CreatedAt.Location() != time.UTC || c.Spec.WindowStart.Location() != time.UTC ||
		!c.Spec.WindowStart.Equal(spec("").WindowStart) || c.CreatedAt.Hour() != 8 {
		t.Errorf("times not UTC: created %v window %v", c.CreatedAt, c.Spec.WindowStart)
	}

	c, err := tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "approved", Actor: "bob", Role: "operations", Reason: "backout plan rehearsed"})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "approved" || len(c.Approvals) != 1 {
		t.Fatalf("after approval %+v", c)
	}
	if a := c.Approvals[0]; a.Approver != "bob" || a.Role != "operations" || a.Decision != "approved" ||
		a.Comment != "backout plan rehearsed" || a.At.IsZero() {
		t.Errorf("approval %+v", a)
	}
	c = move(t, tr, c.ID, "scheduled", "warroom", "")
	c, err = tr.Comment(ctx, sdk.CommentRequest{ID: c.ID, Author: "carol", Body: "window confirmed with the vendor"})
	if err != nil {
		t.Fatal(err)
	}
	c = move(t, tr, c.ID, "implementing", "warroom", "")
	c = move(t, tr, c.ID, "implemented", "warroom", "")
	c, err = tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "closed", Actor: "warroom", Reason: "all waves green"})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "closed" || !c.UpdatedAt.After(c.CreatedAt) {
		t.Errorf("closed change %+v", c)
	}
	var bodies []string
	for _, cm := range c.Comments {
		bodies = append(bodies, cm.Author+": "+cm.Body)
	}
	if want := []string{"carol: window confirmed with the vendor", "warroom: implemented → closed: all waves green"}; !slices.Equal(bodies, want) {
		t.Errorf("comments %q", bodies)
	}
	got, err := tr.GetChange(ctx, "chg-000001")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("GetChange\n%+v\nwant\n%+v", got, c)
	}
	_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "implementing"})
	wantCode(t, err, sdk.CodeFailedPrecondition, "CHG-000001 is closed, a final state")

	// The failure path.
	f := create(t, tr, "", spec("emergency"))
	move(t, tr, f.ID, "approved", "dave", "security")
	move(t, tr, f.ID, "implementing", "", "")
	f = move(t, tr, f.ID, "failed", "", "")
	f = move(t, tr, f.ID, "closed", "", "")
	if f.State != "closed" {
		t.Errorf("state %s", f.State)
	}
}

func TestApprovalRules(t *testing.T) {
	ctx := context.Background()

	t.Run("nobody approves their own change", func(t *testing.T) {
		tr := newTracker(t, nil)
		c := create(t, tr, "", spec("normal"))
		_, err := tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "approved", Actor: "Alice", Role: "operations"})
		wantCode(t, err, sdk.CodeFailedPrecondition, "nobody approves their own change")
		if got, _ := tr.GetChange(ctx, c.ID); got.State != "submitted" || len(got.Approvals) != 0 {
			t.Errorf("after a refused approval %+v", got)
		}
		_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "approved"})
		wantCode(t, err, sdk.CodeInvalid, "needs an actor")
	})

	t.Run("two approvers when two are required", func(t *testing.T) {
		tr := newTracker(t, map[string]string{"approvals_required": "2"})
		c := create(t, tr, "", spec("normal"))
		c = move(t, tr, c.ID, "approved", "bob", "operations")
		if c.State != "submitted" || len(c.Approvals) != 1 {
			t.Fatalf("after one approval %+v", c)
		}
		c = move(t, tr, c.ID, "approved", "BOB", "operations") // the same person again
		if c.State != "submitted" || len(c.Approvals) != 1 {
			t.Fatalf("after bob twice %+v", c)
		}
		c = move(t, tr, c.ID, "approved", "carol", "compliance")
		if c.State != "approved" || len(c.Approvals) != 2 {
			t.Fatalf("after two approvals %+v", c)
		}
		// A later sign-off is recorded; the change stays approved.
		c = move(t, tr, c.ID, "approved", "dave", "security")
		if c.State != "approved" || len(c.Approvals) != 3 {
			t.Fatalf("after a third approval %+v", c)
		}

		e := create(t, tr, "", spec("emergency"))
		if e = move(t, tr, e.ID, "approved", "bob", "operations"); e.State != "approved" {
			t.Errorf("an emergency change needs one approval; state %s", e.State)
		}
	})

	t.Run("standard changes are pre-approved", func(t *testing.T) {
		tr := newTracker(t, map[string]string{"approvals_required": "3"})
		c := create(t, tr, "", spec("Standard"))
		if c.State != "approved" || c.Spec.Class != "standard" || len(c.Approvals) != 0 {
			t.Errorf("standard change %+v", c)
		}
		if c = move(t, tr, c.ID, "implementing", "warroom", ""); c.State != "implementing" {
			t.Errorf("state %s", c.State)
		}
	})

	t.Run("named approvers and roles", func(t *testing.T) {
		tr := newTracker(t, nil)
		s := spec("normal")
		s.ApproversRequired = []string{"security", "erin"}
		c := create(t, tr, "", s)
		c = move(t, tr, c.ID, "approved", "bob", "operations")
		if c.State != "submitted" {
			t.Fatalf("approved without security and erin")
		}
		c = move(t, tr, c.ID, "approved", "dave", "security")
		if c.State != "submitted" {
			t.Fatalf("approved without erin")
		}
		if c = move(t, tr, c.ID, "approved", "erin", "cto"); c.State != "approved" {
			t.Fatalf("state %s with every required approver", c.State)
		}
	})

	t.Run("rejection and a new round", func(t *testing.T) {
		tr := newTracker(t, map[string]string{"approvals_required": "2"})
		c := create(t, tr, "", spec("normal"))
		move(t, tr, c.ID, "approved", "bob", "operations")
		c, err := tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "rejected", Actor: "dave", Role: "security", Reason: "no pen test"})
		if err != nil {
			t.Fatal(err)
		}
		if c.State != "rejected" || len(c.Approvals) != 2 {
			t.Fatalf("rejected change %+v", c)
		}
		if r := c.Approvals[1]; r.Approver != "dave" || r.Decision != "rejected" || r.Comment != "no pen test" {
			t.Errorf("rejection %+v", r)
		}
		move(t, tr, c.ID, "draft", "alice", "")
		move(t, tr, c.ID, "submitted", "alice", "")
		// bob's approval was for the first round; it takes two new ones.
		if c = move(t, tr, c.ID, "approved", "carol", "compliance"); c.State != "submitted" {
			t.Fatalf("approved by one approver of the new round")
		}
		if c = move(t, tr, c.ID, "approved", "bob", "operations"); c.State != "approved" {
			t.Fatalf("state %s after two approvals of the new round", c.State)
		}
		if len(c.Approvals) != 4 {
			t.Errorf("history lost: %+v", c.Approvals)
		}
		_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: create(t, tr, "", spec("normal")).ID, ToState: "rejected"})
		wantCode(t, err, sdk.CodeInvalid, "needs an actor")
	})
}

func TestInvalidTransitions(t *testing.T) {
	ctx := context.Background()
	tr := newTracker(t, nil)
	c := create(t, tr, "", spec("normal"))
	_, err := tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "implementing"})
	wantCode(t, err, sdk.CodeFailedPrecondition,
		"change CHG-000001 is submitted; it can move to approved, rejected, draft or cancelled, not implementing")
	_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "done"})
	wantCode(t, err, sdk.CodeInvalid, `unknown state "done"`, "draft, submitted")

	// Moving to the current state is a harmless retry.
	again := move(t, tr, c.ID, "submitted", "", "")
	if again.State != "submitted" {
		t.Errorf("state %s", again.State)
	}
	move(t, tr, c.ID, "cancelled", "alice", "")
	_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "approved", Actor: "bob"})
	wantCode(t, err, sdk.CodeFailedPrecondition, "cancelled, a final state")

	d := create(t, tr, "", spec("normal"))
	move(t, tr, d.ID, "draft", "alice", "")
	_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: d.ID, ToState: "approved", Actor: "bob"})
	wantCode(t, err, sdk.CodeFailedPrecondition, "is draft; it can move to submitted or cancelled, not approved")
}

func TestCreateValidation(t *testing.T) {
	tr := newTracker(t, nil)
	for name, mutate := range map[string]func(*sdk.ChangeSpec){
		"no title":  func(s *sdk.ChangeSpec) { s.Title = " " },
		"class":     func(s *sdk.ChangeSpec) { s.Class = "urgent" },
		"risk":      func(s *sdk.ChangeSpec) { s.Risk = 120 },
		"window":    func(s *sdk.ChangeSpec) { s.WindowEnd = s.WindowStart.Add(-time.Hour) },
		"neg. risk": func(s *sdk.ChangeSpec) { s.Risk = -1 },
	} {
		s := spec("normal")
		mutate(&s)
		_, err := tr.CreateChange(context.Background(), sdk.CreateChangeRequest{Spec: s})
		if sdk.CodeOf(err) != sdk.CodeInvalid {
			t.Errorf("%s: err %v, want CodeInvalid", name, err)
		}
	}
}

func TestIdempotentCreateAndNotify(t *testing.T) {
	ctx := context.Background()
	tr := newTracker(t, nil)
	first := create(t, tr, "rel-7/api", spec("normal"))
	other := spec("emergency")
	other.Title = "something else"
	again := create(t, tr, "rel-7/api", other)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("same key gave\n%+v\nthen\n%+v", first, again)
	}
	if c := create(t, tr, "rel-7/web", spec("normal")); c.ID != "CHG-000002" {
		t.Errorf("second key gave %s", c.ID)
	}
	if c := create(t, tr, "", spec("normal")); c.ID != "CHG-000003" {
		t.Errorf("no key gave %s", c.ID)
	}
	if c := create(t, tr, "", spec("normal")); c.ID != "CHG-000004" {
		t.Errorf("no key again gave %s", c.ID)
	}

	req := sdk.NotifyRequest{IdempotencyKey: "n1", To: []string{"ops@example.com", " ops@example.com", "#release"},
		Subject: "Wave 2 starts", Body: "eu-west-1 at 22:00 UTC", Severity: "warning", ChangeID: first.ID, Channel: "email"}
	r1, err := tr.Notify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r1.MessageID != "MSG-000001" || !slices.Equal(r1.Delivered, []string{"ops@example.com", "#release"}) {
		t.Errorf("Notify = %+v", r1)
	}
	req.To = []string{"someone@else"}
	r2, err := tr.Notify(ctx, req)
	if err != nil || !reflect.DeepEqual(r1, r2) {
		t.Errorf("repeated Notify = %+v, %v; want %+v", r2, err, r1)
	}
	r3, err := tr.Notify(ctx, sdk.NotifyRequest{To: []string{"cab@example.com"}, Subject: "FYI"})
	if err != nil || r3.MessageID != "MSG-000002" {
		t.Errorf("third Notify = %+v, %v", r3, err)
	}

	// What the outbox holds.
	var recipients, subject, body, severity, changeID, channel, at string
	err = tr.db.QueryRow(`SELECT recipients, subject, body, severity, change_id, channel, at FROM outbox WHERE id = 'MSG-000001'`).
		Scan(&recipients, &subject, &body, &severity, &changeID, &channel, &at)
	if err != nil {
		t.Fatal(err)
	}
	if recipients != `["ops@example.com","#release"]` || subject != "Wave 2 starts" || body != "eu-west-1 at 22:00 UTC" ||
		severity != "warning" || changeID != first.ID || channel != "email" || !strings.HasSuffix(at, "Z") {
		t.Errorf("outbox row: %s %s %s %s %s %s %s", recipients, subject, body, severity, changeID, channel, at)
	}
	var n int
	tr.db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n)
	if n != 2 {
		t.Errorf("%d outbox rows, want 2", n)
	}
	var ch string
	tr.db.QueryRow(`SELECT channel FROM outbox WHERE id = 'MSG-000002'`).Scan(&ch)
	if ch != "outbox" {
		t.Errorf("default channel %q", ch)
	}

	for name, bad := range map[string]sdk.NotifyRequest{
		"no recipients": {To: []string{" "}, Subject: "x"},
		"empty":         {To: []string{"a"}},
		"severity":      {To: []string{"a"}, Subject: "x", Severity: "urgent"},
	} {
		if _, err := tr.Notify(ctx, bad); sdk.CodeOf(err) != sdk.CodeInvalid {
			t.Errorf("%s: err %v, want CodeInvalid", name, err)
		}
	}
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	tr := newTracker(t, nil)
	_, err := tr.GetChange(ctx, "CHG-000404")
	wantCode(t, err, sdk.CodeNotFound, "CHG-000404 not found")
	_, err = tr.Comment(ctx, sdk.CommentRequest{ID: "CHG-000404", Author: "a", Body: "b"})
	wantCode(t, err, sdk.CodeNotFound)
	_, err = tr.Transition(ctx, sdk.TransitionRequest{ID: "CHG-000404", ToState: "closed"})
	wantCode(t, err, sdk.CodeNotFound)
	_, err = tr.Notify(ctx, sdk.NotifyRequest{To: []string{"a"}, Subject: "x", ChangeID: "CHG-000404"})
	wantCode(t, err, sdk.CodeNotFound)
	_, err = tr.Comment(ctx, sdk.CommentRequest{ID: "CHG-000404", Author: "a"})
	wantCode(t, err, sdk.CodeInvalid)
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tr := open(t, dir, nil)
	c := create(t, tr, "k1", spec("normal"))
	move(t, tr, c.ID, "approved", "bob", "operations")
	c, err := tr.Comment(ctx, sdk.CommentRequest{ID: c.ID, Author: "bob", Body: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Notify(ctx, sdk.NotifyRequest{IdempotencyKey: "n", To: []string{"a"}, Subject: "x"}); err != nil {
		t.Fatal(err)
	}
	tr.Close()

	tr = open(t, dir, nil)
	got, err := tr.GetChange(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("after reopening\n%+v\nwant\n%+v", got, c)
	}
	if again := create(t, tr, "k1", spec("normal")); again.ID != c.ID {
		t.Errorf("key forgotten: %s", again.ID)
	}
	if next := create(t, tr, "k2", spec("normal")); next.ID != "CHG-000002" {
		t.Errorf("sequence restarted: %s", next.ID)
	}
	if r, _ := tr.Notify(ctx, sdk.NotifyRequest{IdempotencyKey: "n", To: []string{"b"}, Subject: "y"}); r.MessageID != "MSG-000001" {
		t.Errorf("notify key forgotten: %+v", r)
	}
}

func TestConcurrentCreatesGetDistinctIDs(t *testing.T) {
	dir := t.TempDir()
	// Two trackers on one file stand for two plugin processes.
	trs := []*tracker{open(t, dir, nil), open(t, dir, nil)}
	const workers, each = 8, 10
	var mu sync.Mutex
	ids := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := trs[w%2]
			for i := range each {
				c, err := tr.CreateChange(context.Background(), sdk.CreateChangeRequest{
					IdempotencyKey: fmt.Sprintf("w%d-%d", w, i), Spec: spec("normal")})
				if err != nil {
					errs <- err
					return
				}
				// The same key from another goroutine gets the same change.
				c2, err := trs[(w+1)%2].CreateChange(context.Background(), sdk.CreateChangeRequest{
					IdempotencyKey: fmt.Sprintf("w%d-%d", w, i), Spec: spec("normal")})
				if err != nil {
					errs <- err
					return
				}
				if c2.ID != c.ID {
					errs <- fmt.Errorf("key w%d-%d: %s then %s", w, i, c.ID, c2.ID)
				}
				mu.Lock()
				ids[c.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(ids) != workers*each {
		t.Errorf("%d distinct ids for %d changes", len(ids), workers*each)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s given %d times", id, n)
		}
	}
	if _, ok := ids[fmt.Sprintf("CHG-%06d", workers*each)]; !ok {
		t.Errorf("ids not a dense sequence: no CHG-%06d", workers*each)
	}
}

// TestDatabaseFollowsStateDirMode: the tracker's database (and its -wal
// and -shm) gets exactly its state directory's mode, owner-only or shared
// with the group, under the usual umask 022.
func TestDatabaseFollowsStateDirMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, dirMode := range []os.FileMode{0o700, 0o770} {
		dir := t.TempDir()
		if err := os.Chmod(dir, dirMode); err != nil {
			t.Fatal(err)
		}
		open(t, dir, nil) // open while we look: -wal and -shm exist
		want := os.FileMode(0o600)
		if dirMode == 0o770 {
			want = 0o660
		}
		for _, name := range []string{"tickets.db", "tickets.db-wal", "tickets.db-shm"} {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("state dir %04o: %s is %04o, want %04o", dirMode, name, fi.Mode().Perm(), want)
			}
		}
	}
}
