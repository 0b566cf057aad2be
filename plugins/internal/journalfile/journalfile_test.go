package journalfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warroom/warroom/store/fsmode"
)

type entry struct {
	Key   string `json:"key"`
	State string `json:"state"`
}

func open(t *testing.T, path string) (*File, []entry, error) {
	t.Helper()
	var got []entry
	f, err := Open(path, fsmode.Private, func(e entry) { got = append(got, e) })
	return f, got, err
}

// What is appended is replayed in order by the next Open; the file is
// owner-only.
func TestAppendThenReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	f, got, err := open(t, path)
	if err != nil || len(got) != 0 {
		t.Fatalf("new journal: %v %v", got, err)
	}
	want := []entry{{"a", "started"}, {"a", "done"}, {"b", "failed"}}
	for _, e := range want {
		if err := f.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Append(entry{"c", "started"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("append after close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	f, got, err = open(t, path)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("replayed %v (%v), want %v", got, err, want)
	}
	f.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

// A torn last line (a crash mid-write) is cut off, and the next append
// starts on a line of its own; a corrupt line before the last is an
// error naming the file and the line, and the file is not opened (the
// journals discard what the lines before it gave them).
func TestTornAndCorruptLines(t *testing.T) {
	dir := t.TempDir()
	torn := filepath.Join(dir, "torn.jsonl")
	os.WriteFile(torn, []byte(`{"key":"a","state":"done"}`+"\n"+`{"key":"b","st`), 0o600)
	f, got, err := open(t, torn)
	if err != nil || !slices.Equal(got, []entry{{"a", "done"}}) {
		t.Fatalf("torn: %v %v", got, err)
	}
	if err := f.Append(entry{"c", "done"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(torn); string(b) != `{"key":"a","state":"done"}`+"\n"+`{"key":"c","state":"done"}`+"\n" {
		t.Errorf("after cutting the torn line and appending:\n%s", b)
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"key":"a","state":"done"}`+"\n\n"+`not json`+"\n"+`{"key":"b","state":"done"}`+"\n"), 0o600)
	if _, _, err := open(t, bad); err == nil || !strings.Contains(err.Error(), "journal "+bad+" line 3 is corrupt") ||
		!strings.Contains(err.Error(), "repair or remove the line") {
		t.Errorf("corrupt line: %v", err)
	}
}
