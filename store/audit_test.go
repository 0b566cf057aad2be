package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// TestEventHashFormat pins the canonical encoding: it is a file format, and
// an accidental change would make every existing chain fail to verify.
func TestEventHashFormat(t *testing.T) {
	e := model.AuditEvent{
		Seq:      3,
		At:       time.Date(2025, 3, 14, 10, 0, 0, 500000000, time.FixedZone("CET", 3600)),
		Actor:    "alice",
		Command:  "gate waive",
		Summary:  `waived "perf" <staging> & more`,
		Payload:  json.RawMessage(`{"gate":"perf"}`),
		PrevHash: strings.Repeat("ab", 32),
	}
	canonical := `{"seq":3,"at":"2025-03-14T09:00:00.5Z","actor":"alice","command":"gate waive",` +
		`"summary":"waived \"perf\" <staging> & more","payload":{"gate":"perf"}}`
	sum := sha256.Sum256([]byte(e.PrevHash + "\n" + canonical))
	if got, want := store.EventHash(e), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("EventHash = %s, want %s", got, want)
	}

	e.Payload = nil
	canonical = strings.Replace(canonical, `{"gate":"perf"}`, "null", 1)
	sum = sha256.Sum256([]byte(e.PrevHash + "\n" + canonical))
	if got, want := store.EventHash(e), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("EventHash without payload = %s, want %s", got, want)
	}
}

const chainLen = 20

// chain writes a store with chainLen audit events, each with a distinct
// summary and payload, closes it and returns its path.
func chain(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := dbPath(t)
	s := openStore(t, path, store.WithClock(stepClock()))
	for i := 1; i <= chainLen; i++ {
		if _, err := s.Write(ctx, "alice", "apply", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
			name := fmt.Sprint("svc-", i)
			if err := tx.PutRecord(ctx, rec("service", name, fmt.Sprintf(`{"name":%q}`, name))); err != nil {
				return store.Change{}, err
			}
			return store.Change{Summary: "added service " + name, Payload: map[string]int{"n": i}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.AuditReport{OK: true, Events: chainLen}); rep != want {
		t.Fatalf("intact chain: %+v, want %+v", rep, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerifyAuditEmpty(t *testing.T) {
	rep, err := openStore(t, dbPath(t)).VerifyAudit(context.Background())
	if err != nil || rep != (store.AuditReport{OK: true}) {
		t.Errorf("empty log: %+v, %v", rep, err)
	}
}

// TestVerifyAuditTampering edits a closed database with the real sqlite3
// shell, as someone holding the file could, and checks that verify names the
// first bad event. The append-only triggers are dropped first: they stop
// mistakes, not someone with the file.
func TestVerifyAuditTampering(t *testing.T) {
	const dropTriggers = `DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; `
	for _, tc := range []struct {
		name       string
		sql        string
		firstBad   int64
		wantReason string
	}{
		{
			name:       "edit a summary",
			sql:        `UPDATE audit_events SET summary = 'nothing to see here' WHERE seq = 7`,
			firstBad:   7,
			wantReason: "event 7: content does not match its hash (edited)",
		},
		{
			name:       "edit a payload",
			sql:        `UPDATE audit_events SET payload = '{"n":999}' WHERE seq = 9`,
			firstBad:   9,
			wantReason: "event 9: content does not match its hash (edited)",
		},
		{
			name:       "edit an actor",
			sql:        `UPDATE audit_events SET actor = 'mallory' WHERE seq = 1`,
			firstBad:   1,
			wantReason: "event 1: content does not match its hash (edited)",
		},
		{
			name:       "edit a time",
			sql:        `UPDATE audit_events SET at = '2020-01-01T00:00:00.000000000Z' WHERE seq = 14`,
			firstBad:   14,
			wantReason: "event 14: content does not match its hash (edited)",
		},
		{
			name:       "delete a middle event",
			sql:        `DELETE FROM audit_events WHERE seq = 5`,
			firstBad:   5,
			wantReason: "event 5 is missing (deleted)",
		},
		{
			name:       "delete the newest event",
			sql:        `DELETE FROM audit_events WHERE seq = 20`,
			firstBad:   20,
			wantReason: "event 20 is missing (deleted)",
		},
		{
			name:       "delete the newest two events",
			sql:        `DELETE FROM audit_events WHERE seq >= 19`,
			firstBad:   19,
			wantReason: "event 19 is missing (deleted)",
		},
		{
			name: "swap two rows' seq numbers",
			sql: `UPDATE audit_events SET seq = -seq WHERE seq IN (5, 6);
			      UPDATE audit_events SET seq = CASE seq WHEN -5 THEN 6 ELSE 5 END WHERE seq IN (-5, -6)`,
			firstBad:   5,
			wantReason: "event 5: previous hash does not match event 4 (reordered or replaced)",
		},
		{
			name: "swap two rows' contents",
			sql: `CREATE TEMP TABLE orig AS SELECT seq, summary, payload FROM audit_events WHERE seq IN (11, 12);
			      UPDATE audit_events SET
			        summary = (SELECT summary FROM orig WHERE orig.seq = 23 - audit_events.seq),
			        payload = (SELECT payload FROM orig WHERE orig.seq = 23 - audit_events.seq)
			      WHERE seq IN (11, 12)`,
			firstBad:   11,
			wantReason: "event 11: content does not match its hash (edited)",
		},
		{
			name:       "edit a stored hash",
			sql:        `UPDATE audit_events SET hash = '` + strings.Repeat("f", 64) + `' WHERE seq = 12`,
			firstBad:   12,
			wantReason: "event 12: its stored hash was edited (the content is intact)",
		},
		{
			name:       "edit the newest stored hash",
			sql:        `UPDATE audit_events SET hash = '` + strings.Repeat("f", 64) + `' WHERE seq = 20`,
			firstBad:   20,
			wantReason: "event 20: its stored hash was edited (the content is intact)",
		},
		{
			name:       "edit a prev_hash",
			sql:        `UPDATE audit_events SET prev_hash = '` + strings.Repeat("0", 64) + `' WHERE seq = 3`,
			firstBad:   3,
			wantReason: "event 3: previous hash does not match event 2 (reordered or replaced)",
		},
		{
			name:       "move the head past the log",
			sql:        `UPDATE audit_head SET seq = seq + 1`,
			firstBad:   21,
			wantReason: "event 21 is missing (deleted)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := chain(t)
			sqliteCLI(t, path, dropTriggers+tc.sql)

			rep, err := openStore(t, path).VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad != tc.firstBad || rep.Reason != tc.wantReason {
				t.Errorf("report %+v\nwant OK=false FirstBad=%d Reason=%q", rep, tc.firstBad, tc.wantReason)
			}
		})
	}
}

// TestAuditAppendOnly: warroom's own connections cannot change the log.
func TestAuditAppendOnly(t *testing.T) {
	path := chain(t)
	db := rawDB(t, path)
	for _, q := range []string{
		`UPDATE audit_events SET summary = 'x' WHERE seq = 1`,
		`DELETE FROM audit_events WHERE seq = 20`,
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only", q, err)
		}
	}
}
