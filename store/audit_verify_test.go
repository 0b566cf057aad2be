package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// checkpointAt returns the checkpoint of event seq of the log at path, as
// a verification that ended there would have returned it.
func checkpointAt(t *testing.T, s *store.Store, seq int64) store.AuditCheckpoint {
	t.Helper()
	evs, err := s.AuditEvents(context.Background(), store.AuditFilter{AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("event %d: %v, %v", seq, evs, err)
	}
	return store.AuditCheckpoint{Seq: seq, Hash: evs[0].Hash}
}

// An intact log verifies from genesis and from any checkpoint, and the
// checkpoint returned is the head.
func TestVerifyAuditFromIntact(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, chain(t))
	head := checkpointAt(t, s, chainLen)
	for _, from := range []int64{0, 1, 10, chainLen} {
		cp := store.AuditCheckpoint{}
		if from > 0 {
			cp = checkpointAt(t, s, from)
		}
		rep, next, err := s.VerifyAuditFrom(ctx, cp)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.AuditReport{OK: true, Events: chainLen}); rep != want || next != head {
			t.Errorf("from %d: %+v %+v, want %+v %+v", from, rep, next, want, head)
		}
	}

	// Appending moves on from the returned checkpoint.
	if _, err := s.Write(ctx, "bob", "apply", putOne(rec("service", "late", `{"name":"late"}`))); err != nil {
		t.Fatal(err)
	}
	rep, next, err := s.VerifyAuditFrom(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Events != chainLen+1 || next != checkpointAt(t, s, chainLen+1) {
		t.Errorf("after an append: %+v %+v", rep, next)
	}

	// An empty log: the zero checkpoint comes back.
	rep, next, err = openStore(t, dbPath(t)).VerifyAuditFrom(ctx, store.AuditCheckpoint{})
	if err != nil || rep != (store.AuditReport{OK: true}) || next != (store.AuditCheckpoint{}) {
		t.Errorf("empty log: %+v %+v %v", rep, next, err)
	}
}

// TestVerifyAuditFromTampering tampers with a closed log with the sqlite3
// shell, as TestVerifyAuditTampering does, then verifies from a
// checkpoint at event 10. Edits after the checkpoint and of the
// checkpoint's own event are found; an edit before it is not (that is
// what the periodic full VerifyAudit is for), and the full walk does.
func TestVerifyAuditFromTampering(t *testing.T) {
	const dropTriggers = `DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; `
	const at = 10
	for _, tc := range []struct {
		name       string
		sql        string
		firstBad   int64 // 0: the incremental verification sees nothing
		wantReason string
		fullBad    int64 // what the full walk reports
	}{
		{
			name:       "edit a summary after the checkpoint",
			sql:        `UPDATE audit_events SET summary = 'nothing to see here' WHERE seq = 15`,
			firstBad:   15,
			wantReason: "event 15: content does not match its hash (edited)",
			fullBad:    15,
		},
		{
			name:       "delete an event after the checkpoint",
			sql:        `DELETE FROM audit_events WHERE seq = 12`,
			firstBad:   12,
			wantReason: "event 12 is missing (deleted)",
			fullBad:    12,
		},
		{
			name:       "delete the event after the checkpoint",
			sql:        `DELETE FROM audit_events WHERE seq = 11`,
			firstBad:   11,
			wantReason: "event 11 is missing (deleted)",
			fullBad:    11,
		},
		{
			name:       "delete the newest event",
			sql:        `DELETE FROM audit_events WHERE seq = 20`,
			firstBad:   20,
			wantReason: "event 20 is missing (deleted)",
			fullBad:    20,
		},
		{
			name: "swap two rows after the checkpoint",
			sql: `UPDATE audit_events SET seq = -seq WHERE seq IN (13, 14);
			      UPDATE audit_events SET seq = CASE seq WHEN -13 THEN 14 ELSE 13 END WHERE seq IN (-13, -14)`,
			firstBad:   13,
			wantReason: "event 13: previous hash does not match event 12 (reordered or replaced)",
			fullBad:    13,
		},
		{
			name:       "edit the prev_hash of the event after the checkpoint",
			sql:        `UPDATE audit_events SET prev_hash = '` + strings.Repeat("0", 64) + `' WHERE seq = 11`,
			firstBad:   11,
			wantReason: "event 11: previous hash does not match event 10 (reordered or replaced)",
			fullBad:    11,
		},
		{
			name:       "move the head past the log",
			sql:        `UPDATE audit_head SET seq = seq + 1`,
			firstBad:   21,
			wantReason: "event 21 is missing (deleted)",
			fullBad:    21,
		},
		{
			name:       "edit the head's hash",
			sql:        `UPDATE audit_head SET hash = '` + strings.Repeat("f", 64) + `'`,
			firstBad:   20,
			wantReason: "event 20: does not match the audit head (replaced)",
			fullBad:    20,
		},
		{
			name:       "move the head back to the checkpoint",
			sql:        `UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_events WHERE seq = 10)`,
			firstBad:   11,
			wantReason: "event 11: not recorded in the audit head (added outside warroom)",
			fullBad:    11,
		},
		{
			name:       "edit the checkpoint event's summary",
			sql:        `UPDATE audit_events SET summary = 'nothing to see here' WHERE seq = 10`,
			firstBad:   10,
			wantReason: "event 10: content does not match its hash (edited)",
			fullBad:    10,
		},
		{
			name:       "edit the checkpoint event's stored hash",
			sql:        `UPDATE audit_events SET hash = '` + strings.Repeat("f", 64) + `' WHERE seq = 10`,
			firstBad:   10,
			wantReason: "event 10: its stored hash was edited (the content is intact)",
			fullBad:    10,
		},
		{
			name:       "edit the checkpoint event's summary and stored hash",
			sql:        `UPDATE audit_events SET summary = 'x', hash = '` + strings.Repeat("f", 64) + `' WHERE seq = 10`,
			firstBad:   10,
			wantReason: "event 10: changed since it was last verified (replaced)",
			fullBad:    10,
		},
		{
			name:       "edit the checkpoint event's time",
			sql:        `UPDATE audit_events SET at = 'yesterday' WHERE seq = 10`,
			firstBad:   10,
			wantReason: "event 10: content is unreadable (edited)",
			fullBad:    10,
		},
		{
			name:       "delete the checkpoint event",
			sql:        `DELETE FROM audit_events WHERE seq = 10`,
			firstBad:   10,
			wantReason: "event 10 is missing (deleted)",
			fullBad:    10,
		},
		{
			name:    "edit an event before the checkpoint",
			sql:     `UPDATE audit_events SET summary = 'nothing to see here' WHERE seq = 3`,
			fullBad: 3,
		},
		{
			name:    "delete an event before the checkpoint",
			sql:     `DELETE FROM audit_events WHERE seq = 4`,
			fullBad: 4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := chain(t)
			s := openStore(t, path)
			cp := checkpointAt(t, s, at)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			sqliteCLI(t, path, dropTriggers+tc.sql)

			s = openStore(t, path)
			rep, next, err := s.VerifyAuditFrom(ctx, cp)
			if err != nil {
				t.Fatal(err)
			}
			if tc.firstBad == 0 {
				if !rep.OK {
					t.Errorf("incremental report %+v, want OK (the checkpoint does not cover older events)", rep)
				}
			} else {
				if rep.OK || rep.FirstBad != tc.firstBad || rep.Reason != tc.wantReason {
					t.Errorf("incremental report %+v\nwant OK=false FirstBad=%d Reason=%q", rep, tc.firstBad, tc.wantReason)
				}
				if next != cp {
					t.Errorf("checkpoint after a failure = %+v, want the one given %+v", next, cp)
				}
			}
			full, err := s.VerifyAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if full.OK || full.FirstBad != tc.fullBad {
				t.Errorf("full report %+v, want FirstBad=%d", full, tc.fullBad)
			}
		})
	}
}

func TestVerifyAuditFromNegative(t *testing.T) {
	s := openStore(t, dbPath(t))
	if _, _, err := s.VerifyAuditFrom(context.Background(), store.AuditCheckpoint{Seq: -1}); err == nil {
		t.Error("a negative checkpoint verified")
	}
}

// TestEventHashStrings checks the canonical encoding of awkward strings
// against encoding/json's (without HTML escaping), byte for byte: the
// plain-ASCII shortcut must write what the encoder would.
func TestEventHashStrings(t *testing.T) {
	quote := func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	at := time.Date(2026, 11, 27, 14, 30, 0, 0, time.UTC)
	for _, s := range []string{
		"", "plain text", `a "quoted" word`, `back\slash`, "tab\there", "new\nline", "\x00\x1f\x7f",
		"<b>&amp;</b>", "café", "line\u2028sep\u2029", "emoji 🚀", "~!@#$%^*()_+{}|:?`-=[];',./",
	} {
		e := model.AuditEvent{Seq: 1, At: at, Actor: s, Command: "c " + s, Summary: s + " s", PrevHash: store.GenesisHash}
		canonical := `{"seq":1,"at":"2026-11-27T14:30:00Z","actor":` + quote(s) + `,"command":` + quote("c "+s) +
			`,"summary":` + quote(s+" s") + `,"payload":null}`
		sum := sha256.Sum256([]byte(store.GenesisHash + "\n" + canonical))
		if got, want := store.EventHash(e), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%q: EventHash = %s, want %s", s, got, want)
		}
	}
}
