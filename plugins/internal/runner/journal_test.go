package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func TestJournalCutsATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	good := `{"key":"k1","op":"deploy","state":"started","at":"2025-01-01T00:00:00Z","service":"api","version":"1"}
{"key":"k1","op":"deploy","state":"done","at":"2025-01-01T00:00:01Z","service":"api","version":"1"}
`
	if err := os.WriteFile(path, []byte(good+`{"key":"k2","op":"dep`), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := j.Lookup("k1"); !ok || e.State != Done {
		t.Errorf("k1 = %+v, %v", e, ok)
	}
	if _, ok := j.Lookup("k2"); ok {
		t.Error("the torn line was read")
	}
	if err := j.record(Entry{Key: "k3", Op: OpDeploy, State: Started, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), good+`{"key":"k3"`) {
		t.Errorf("journal after the cut:\n%s", b)
	}
	j, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if e, ok := j.Lookup("k3"); !ok || e.State != Started {
		t.Errorf("k3 = %+v, %v", e, ok)
	}
	if keys := j.AppliedKeys(); len(keys) != 1 || keys[0] != "k1" {
		t.Errorf("applied %v", keys)
	}
}

func TestJournalRefusesACorruptLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	os.WriteFile(path, []byte("{\"key\":\"k1\"}\nnot json\n{\"key\":\"k2\"}\n"), 0o600)
	_, err := OpenJournal(path)
	if err == nil || !strings.Contains(err.Error(), "line 2 is corrupt") {
		t.Fatalf("err = %v", err)
	}
}

func TestDoRunsOncePerKeyAndReplays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	api := sdk.Target{Service: "api", Environment: "prod"}
	runs := 0
	ok := func() (string, error) { runs++; return "", nil }
	bad := func() (string, error) { runs++; return "boom", nil }

	call := Call{Op: OpDeploy, Key: "k1", Target: api, Version: "1.5.0"}
	if _, replayed, err := j.Do(call, ok); err != nil || replayed {
		t.Fatalf("first: replayed %v, err %v", replayed, err)
	}
	prev, replayed, err := j.Do(call, ok)
	if err != nil || !replayed || prev.State != Done || runs != 1 {
		t.Fatalf("second: %+v replayed %v err %v runs %d", prev, replayed, err, runs)
	}
	if ev := ReplayEvent(prev); !ev.Done || !ev.Replayed || ev.Failed || ev.Percent != 100 ||
		!strings.Contains(ev.Message, `already applied with idempotency key "k1"`) {
		t.Errorf("replay event %+v", ev)
	}
	if j.Version(api) != "1.5.0" {
		t.Errorf("version %q", j.Version(api))
	}

	// A failure is recorded and replayed as one.
	fcall := Call{Op: OpRollback, Key: "k2", Target: api, Version: "1.4.0"}
	if _, _, err := j.Do(fcall, bad); err == nil || err.Error() != "boom" || sdk.CodeOf(err) != sdk.CodeInternal {
		t.Fatalf("failure: %v", err)
	}
	prev, replayed, err = j.Do(fcall, bad)
	if !replayed || err == nil || !strings.Contains(err.Error(), "not run again: boom") || runs != 2 {
		t.Fatalf("failed replay: replayed %v err %v runs %d", replayed, err, runs)
	}
	if ev := ReplayEvent(prev); !ev.Done || !ev.Failed || !ev.Replayed || ev.Phase != OpRollback {
		t.Errorf("replay event %+v", ev)
	}
	// A key belongs to its operation.
	if _, _, err := j.Do(Call{Op: OpSetTraffic, Key: "k1"}, ok); sdk.CodeOf(err) != sdk.CodeInvalid {
		t.Errorf("key reused for another op: %v", err)
	}
	// An error of run leaves the key started, so it runs again.
	cancelled := func() (string, error) { runs++; return "", ErrCancelled }
	if _, _, err := j.Do(Call{Op: OpDeploy, Key: "k3"}, cancelled); err != ErrCancelled {
		t.Fatalf("err %v", err)
	}
	if e, _ := j.Lookup("k3"); e.State != Started {
		t.Errorf("k3 %+v", e)
	}
	if _, replayed, err := j.Do(Call{Op: OpDeploy, Key: "k3"}, ok); err != nil || replayed || runs != 4 {
		t.Errorf("rerun: replayed %v err %v runs %d", replayed, err, runs)
	}
	// One key at a time.
	inner := func() (string, error) {
		_, _, err := j.Do(Call{Op: OpDeploy, Key: "k4"}, ok)
		if sdk.CodeOf(err) != sdk.CodeFailedPrecondition || !strings.Contains(err.Error(), "running now") {
			t.Errorf("concurrent call: %v", err)
		}
		return "", nil
	}
	if _, _, err := j.Do(Call{Op: OpDeploy, Key: "k4"}, inner); err != nil {
		t.Fatal(err)
	}
	if got := j.AppliedKeys(); strings.Join(got, ",") != "k1,k3,k4" {
		t.Errorf("applied %v", got)
	}
}
