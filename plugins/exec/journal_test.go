package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJournalCutsATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	good := `{"key":"k1","op":"deploy","state":"started","at":"2025-01-01T00:00:00Z","service":"api","version":"1"}
{"key":"k1","op":"deploy","state":"done","at":"2025-01-01T00:00:01Z","service":"api","version":"1"}
`
	if err := os.WriteFile(path, []byte(good+`{"key":"k2","op":"dep`), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := j.lookup("k1"); !ok || e.State != keyDone {
		t.Errorf("k1 = %+v, %v", e, ok)
	}
	if _, ok := j.lookup("k2"); ok {
		t.Error("the torn line was read")
	}
	if err := j.record(entry{Key: "k3", Op: phaseDeploy, State: keyStarted, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), good+`{"key":"k3"`) {
		t.Errorf("journal after the cut:\n%s", b)
	}
	j, err = openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if e, ok := j.lookup("k3"); !ok || e.State != keyStarted {
		t.Errorf("k3 = %+v, %v", e, ok)
	}
	if keys := j.appliedKeys(); len(keys) != 1 || keys[0] != "k1" {
		t.Errorf("applied %v", keys)
	}
}

func TestJournalRefusesACorruptLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), journalFile)
	os.WriteFile(path, []byte("{\"key\":\"k1\"}\nnot json\n{\"key\":\"k2\"}\n"), 0o600)
	_, err := openJournal(path)
	if err == nil || !strings.Contains(err.Error(), "line 2 is corrupt") {
		t.Fatalf("err = %v", err)
	}
}
