package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

func TestWrite(t *testing.T) {
	errRefused := errors.New("refused by policy")
	for _, tc := range []struct {
		name        string
		fn          func(context.Context, *store.Tx) (store.Change, error)
		wantErr     error
		wantEvent   bool
		wantRecords int
	}{
		{
			name: "commits records and one event",
			fn: func(ctx context.Context, tx *store.Tx) (store.Change, error) {
				for _, n := range []string{"payments", "search"} {
					if err := tx.PutRecord(ctx, rec("team", n, `{"name":"`+n+`"}`)); err != nil {
						return store.Change{}, err
					}
				}
				return store.Change{Summary: "apply: 2 teams added", Payload: map[string]any{"added": []string{"payments", "search"}}}, nil
			},
			wantEvent:   true,
			wantRecords: 2,
		},
		{
			name: "fn error writes nothing",
			fn: func(ctx context.Context, tx *store.Tx) (store.Change, error) {
				if err := tx.PutRecord(ctx, rec("team", "payments", `{}`)); err != nil {
					return store.Change{}, err
				}
				return store.Change{Summary: "would have"}, errRefused
			},
			wantErr: errRefused,
		},
		{
			name: "empty summary writes nothing",
			fn: func(ctx context.Context, tx *store.Tx) (store.Change, error) {
				return store.Change{}, tx.PutRecord(ctx, rec("team", "payments", `{}`))
			},
		},
		{
			name: "store error inside fn writes nothing",
			fn: func(ctx context.Context, tx *store.Tx) (store.Change, error) {
				if err := tx.PutRecord(ctx, rec("team", "payments", `{}`)); err != nil {
					return store.Change{}, err
				}
				err := tx.DeleteRecord(ctx, "team", "nobody")
				return store.Change{Summary: "x"}, err
			},
			wantErr: store.ErrNotFound,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			at := time.Date(2025, 3, 14, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
			s := openStore(t, dbPath(t), store.WithClock(func() time.Time { return at }))
			ev, err := s.Write(ctx, "alice", "apply", tc.fn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if (ev != nil) != tc.wantEvent {
				t.Fatalf("event = %+v, want one: %v", ev, tc.wantEvent)
			}
			recs, err := s.Records(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.wantRecords {
				t.Errorf("%d records stored, want %d", len(recs), tc.wantRecords)
			}
			events, err := s.AuditEvents(ctx, store.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			wantEvents := 0
			if tc.wantEvent {
				wantEvents = 1
			}
			if len(events) != wantEvents {
				t.Fatalf("%d audit events, want %d", len(events), wantEvents)
			}
			head, hash, err := s.AuditHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantEvent {
				if head != 0 || hash != store.GenesisHash {
					t.Errorf("audit head moved to %d %s", head, hash)
				}
				return
			}
			got := events[0]
			if got.Seq != 1 || got.Actor != "alice" || got.Command != "apply" || got.Summary != "apply: 2 teams added" ||
				string(got.Payload) != `{"added":["payments","search"]}` || got.PrevHash != store.GenesisHash ||
				got.Hash != store.EventHash(got) || !got.At.Equal(at) || got.At.Location() != time.UTC {
				t.Errorf("stored event %+v", got)
			}
			if ev.Hash != got.Hash || ev.Seq != got.Seq || !ev.At.Equal(got.At) {
				t.Errorf("returned event %+v differs from stored %+v", ev, got)
			}
			if head != 1 || hash != got.Hash {
				t.Errorf("audit head = %d %s, want 1 %s", head, hash, got.Hash)
			}
		})
	}
}

func TestWriteRequiresActorAndCommand(t *testing.T) {
	s := openStore(t, dbPath(t))
	for _, ac := range [][2]string{{"", "apply"}, {"alice", ""}} {
		_, err := s.Write(context.Background(), ac[0], ac[1], putOne(rec("team", "x", `{}`)))
		if err == nil || !strings.Contains(err.Error(), "required") {
			t.Errorf("Write(%q, %q): err = %v, want 'required'", ac[0], ac[1], err)
		}
	}
}

func TestWriteNilPayloadAndChaining(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t), store.WithClock(stepClock()))
	var prev *model.AuditEvent
	for i, payload := range []any{nil, json.RawMessage(` { "spaced" : true } `), 7} {
		ev, err := s.Write(ctx, "alice", "note", func(context.Context, *store.Tx) (store.Change, error) {
			return store.Change{Summary: fmt.Sprint("note ", i), Payload: payload}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && ev.PrevHash != prev.Hash {
			t.Errorf("event %d prev_hash %s, want %s", ev.Seq, ev.PrevHash, prev.Hash)
		}
		prev = ev
	}
	events, err := s.AuditEvents(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var payloads []string
	for _, e := range events {
		payloads = append(payloads, string(e.Payload))
	}
	if got, want := strings.Join(payloads, "|"), `|{"spaced":true}|7`; got != want {
		t.Errorf("payloads %q, want %q (nil stays empty, JSON is compacted)", got, want)
	}
}

func TestPutRecord(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path, store.WithClock(stepClock()))

	put := func(r model.Record) {
		t.Helper()
		if _, err := s.Write(ctx, "alice", "apply", putOne(r)); err != nil {
			t.Fatal(err)
		}
	}
	get := func() (model.Record, string) {
		t.Helper()
		var got model.Record
		if _, err := s.Write(ctx, "alice", "read", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
			var err error
			got, err = tx.Record(ctx, "service", "api")
			return store.Change{}, err
		}); err != nil {
			t.Fatal(err)
		}
		var created string
		if err := rawDB(t, path).QueryRow(`SELECT created_at FROM objects WHERE kind = 'service' AND name = 'api'`).Scan(&created); err != nil {
			t.Fatal(err)
		}
		return got, created
	}

	put(model.Record{Kind: "service", Name: "api", Spec: []byte(`{"v":1}`), Source: "a.yaml:3"})
	r1, created1 := get()
	if r1.Generation != 1 || r1.Source != "a.yaml:3" || !strings.HasPrefix(r1.Digest, "sha256:") {
		t.Fatalf("after insert: %+v", r1)
	}

	put(model.Record{Kind: "service", Name: "api", Spec: []byte(`{"v":1}`), Source: "b.yaml:9"})
	r2, _ := get()
	if r2.Generation != 1 || !r2.UpdatedAt.Equal(r1.UpdatedAt) || r2.Source != "b.yaml:9" {
		t.Fatalf("same spec again: %+v, want generation 1, updated_at kept, source refreshed", r2)
	}

	put(model.Record{Kind: "service", Name: "api", Spec: []byte(`{"v":2}`), Source: "b.yaml:9"})
	r3, created3 := get()
	if r3.Generation != 2 || !r3.UpdatedAt.After(r1.UpdatedAt) || r3.Digest == r1.Digest || created3 != created1 {
		t.Fatalf("new spec: %+v created %s (was %s), want generation 2, later updated_at, created_at kept", r3, created3, created1)
	}

	_, err := s.Write(ctx, "alice", "apply", putOne(model.Record{Kind: "service", Name: "api", Spec: []byte(`{"v":3}`), Digest: r3.Digest}))
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("wrong digest: err = %v", err)
	}
	_, err = s.Write(ctx, "alice", "apply", putOne(model.Record{Kind: "service", Name: "api", Spec: []byte(`{not json`)}))
	if err == nil {
		t.Errorf("invalid JSON spec stored")
	}
}

func TestDeleteRecordAndRecord(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t))
	if _, err := s.Write(ctx, "alice", "apply", putOne(rec("team", "payments", `{"name":"payments"}`))); err != nil {
		t.Fatal(err)
	}
	_, err := s.Write(ctx, "alice", "delete", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		if err := tx.DeleteRecord(ctx, "team", "payments"); err != nil {
			return store.Change{}, err
		}
		if _, err := tx.Record(ctx, "team", "payments"); !errors.Is(err, store.ErrNotFound) {
			return store.Change{}, fmt.Errorf("Record after delete: %v, want ErrNotFound", err)
		}
		return store.Change{Summary: "deleted team payments"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Write(ctx, "alice", "delete", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		return store.Change{Summary: "x"}, tx.DeleteRecord(ctx, "team", "payments")
	})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "team/payments") {
		t.Errorf("delete twice: err = %v, want ErrNotFound naming team/payments", err)
	}
}

func TestRecordsAndOrg(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t))
	var objs []model.Object = []model.Object{
		model.Service{Name: "api", Owner: "payments"},
		model.Team{Name: "search"},
		model.Team{Name: "payments"},
	}
	_, err := s.Write(ctx, "alice", "apply", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		for _, o := range objs {
			r, err := model.NewRecord(o, "org.yaml:1")
			if err != nil {
				return store.Change{}, err
			}
			if err := tx.PutRecord(ctx, r); err != nil {
				return store.Change{}, err
			}
		}
		return store.Change{Summary: "apply: 3 objects"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range recs {
		order = append(order, string(r.Kind)+"/"+r.Name)
	}
	if got, want := strings.Join(order, " "), "team/payments team/search service/api"; got != want {
		t.Errorf("Records order %q, want %q (dependency order, then name)", got, want)
	}
	org, err := s.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(org.Teams) != 2 || len(org.Services) != 1 || org.Services[0].Owner != "payments" {
		t.Errorf("Org = %+v", org)
	}
}

func TestAuditEventsFilter(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t))
	for i, ac := range [][2]string{{"alice", "apply"}, {"bob", "approve"}, {"alice", "approve"}, {"bob", "apply"}, {"alice", "apply"}} {
		if _, err := s.Write(ctx, ac[0], ac[1], func(context.Context, *store.Tx) (store.Change, error) {
			return store.Change{Summary: fmt.Sprint("event ", i+1)}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want string
	}{
		{"all", store.AuditFilter{}, "1 2 3 4 5"},
		{"after", store.AuditFilter{AfterSeq: 3}, "4 5"},
		{"limit", store.AuditFilter{Limit: 2}, "1 2"},
		{"actor", store.AuditFilter{Actor: "alice"}, "1 3 5"},
		{"command", store.AuditFilter{Command: "approve"}, "2 3"},
		{"combined", store.AuditFilter{AfterSeq: 1, Limit: 1, Actor: "alice", Command: "apply"}, "5"},
		{"none", store.AuditFilter{Actor: "mallory"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := s.AuditEvents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []string
			for _, e := range evs {
				seqs = append(seqs, fmt.Sprint(e.Seq))
			}
			if got := strings.Join(seqs, " "); got != tc.want {
				t.Errorf("seqs %q, want %q", got, tc.want)
			}
		})
	}
}
