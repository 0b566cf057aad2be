package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/warroom/warroom/store"
)

func TestRecordChange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t), store.WithClock(stepClock()))
	at := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	c := store.ChangeRecord{Release: "train", Title: "Release train", Requester: "carol", Class: "normal",
		State: "submitted", Risk: 40, Backout: "automatic rollback by warroom", System: "tickets-local",
		TicketRef: "CHG-000007", URL: "local:CHG-000007"}

	got, ev, err := s.RecordChange(ctx, "carol", c)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "CHG-0001" || ev == nil {
		t.Fatalf("first record: id %q event %v", got.ID, ev)
	}
	if want := "filed change CHG-0001 for release train in tickets-local as CHG-000007"; ev.Summary != want || ev.Actor != "carol" {
		t.Errorf("summary %q by %s, want %q", ev.Summary, ev.Actor, want)
	}

	// The same ticket again: found by its ticket, nothing changes.
	again, ev, err := s.RecordChange(ctx, "carol", c)
	if err != nil || ev != nil || again.ID != "CHG-0001" {
		t.Fatalf("repeat: id %q event %v err %v", again.ID, ev, err)
	}

	// Approved upstream: the state and the approval are recorded once.
	c.State = "approved"
	c.Approvals = []store.ChangeApproval{{Approver: "dave", Role: "sre", Decision: "approved", Reason: "looks fine", At: at}}
	up, ev, err := s.RecordChange(ctx, "dave", c)
	if err != nil {
		t.Fatal(err)
	}
	if ev == nil || ev.Summary != "change CHG-0001: state submitted → approved; 1 approval recorded" {
		t.Fatalf("update event: %+v", ev)
	}
	if len(up.Approvals) != 1 || up.Approvals[0].Decision != "approve" || !up.Approvals[0].At.Equal(at) {
		t.Fatalf("approvals: %+v", up.Approvals)
	}
	if _, ev, err = s.RecordChange(ctx, "dave", c); err != nil || ev != nil {
		t.Fatalf("second sync: event %v err %v", ev, err)
	}

	// A second change of another release gets the next id, and is newest.
	other := store.ChangeRecord{Release: "hotfix", Title: "Hotfix", Requester: "erin", Class: "emergency",
		State: "submitted", System: "tickets-local", TicketRef: "CHG-000008"}
	if o, _, err := s.RecordChange(ctx, "erin", other); err != nil || o.ID != "CHG-0002" {
		t.Fatalf("second change: %q %v", o.ID, err)
	}
	all, err := s.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "CHG-0002" || all[1].ID != "CHG-0001" {
		t.Fatalf("changes: %+v", all)
	}
	train, err := s.Changes(ctx, "train")
	if err != nil || len(train) != 1 || train[0].State != "approved" || len(train[0].Approvals) != 1 ||
		train[0].URL != "local:CHG-000007" || train[0].Backout == "" || train[0].Risk != 40 {
		t.Fatalf("changes of train: %+v %v", train, err)
	}
	if _, err := s.Change(ctx, "CHG-0404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing change: %v", err)
	}

	// No person is declared here (open mode: anyone may do anything), so
	// the requester's own approval is recorded; with people declared the
	// schema refuses it (TestOwnChangeApprovalRefusedOnceEnforced).
	c.Approvals = append(c.Approvals, store.ChangeApproval{Approver: "carol", Role: "sre", Decision: "approve", At: at.Add(time.Minute)})
	if _, _, err := s.RecordChange(ctx, "carol", c); err != nil {
		t.Fatalf("own approval in open mode: %v", err)
	}
	c.Approvals = []store.ChangeApproval{{Approver: "x", Decision: "maybe"}}
	if _, _, err := s.RecordChange(ctx, "carol", c); err == nil {
		t.Fatal("a decision that is neither approve nor reject was recorded")
	}

	rep, err := s.VerifyAudit(ctx)
	if err != nil || !rep.OK || rep.Events != 4 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
}
