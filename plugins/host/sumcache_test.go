package host

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSumCacheHashesAFileOnlyWhenItChanged: the same file is hashed once;
// a file rewritten in place (even with its size and modification time put
// back) or replaced by a rename is hashed again and gives its new sum.
func TestSumCacheHashesAFileOnlyWhenItChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plugin")
	if err := os.WriteFile(path, []byte("version one"), 0o700); err != nil {
		t.Fatal(err)
	}
	var hashed int
	c := &sumCache{hash: func(p string) (string, error) { hashed++; return Checksum(p) }}
	check := func(what string, wantHashed int) string {
		t.Helper()
		sum, err := c.checksum(path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Checksum(path)
		if sum != want {
			t.Fatalf("%s: sum %s, want %s", what, sum, want)
		}
		if hashed != wantHashed {
			t.Fatalf("%s: hashed %d times, want %d", what, hashed, wantHashed)
		}
		return sum
	}
	first := check("first check", 1)
	check("same file again", 1)
	check("and again", 1)

	// Rewritten in place, same size, modification time set back: the
	// change time still moves.
	fi, _ := os.Stat(path)
	waitForClockTick(t, fi.ModTime())
	if err := os.WriteFile(path, []byte("version two"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if second := check("rewritten in place", 2); second == first {
		t.Fatal("a rewritten binary kept its old sum")
	}

	// Replaced by a rename (a new inode).
	tmp := filepath.Join(dir, "plugin.new")
	if err := os.WriteFile(tmp, []byte("version three"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	check("replaced by a rename", 3)
	check("the replacement again", 3)
}

// waitForClockTick waits until the file system's clock has moved past t,
// so that a write gets a different change time (coarse clocks tick every
// few milliseconds).
func waitForClockTick(t *testing.T, after time.Time) {
	t.Helper()
	probe := filepath.Join(t.TempDir(), "tick")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := os.WriteFile(probe, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(probe); err == nil && fi.ModTime().After(after) {
			return
		}
	}
	t.Fatal("the file system's clock did not move in 5s")
}
