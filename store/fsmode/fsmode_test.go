package fsmode

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode() & (fs.ModePerm | fs.ModeSetgid)
}

// TestExactModesWhateverTheUmask: new files and directories get exactly
// the mode's permissions under a permissive and a strict umask; existing
// ones keep theirs.
func TestExactModesWhateverTheUmask(t *testing.T) {
	for _, umask := range []int{0o022, 0o077, 0o000} {
		for _, m := range []Mode{Private, Shared} {
			old := syscall.Umask(umask)
			dir := t.TempDir()
			nested := filepath.Join(dir, "a", "b", "c")
			if err := m.MkdirAll(nested); err != nil {
				t.Fatal(err)
			}
			f, err := m.OpenFile(filepath.Join(nested, "log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := m.WriteFile(filepath.Join(dir, "a", "w"), []byte("x")); err != nil {
				t.Fatal(err)
			}
			tmp, err := m.CreateTemp(dir, "t-*")
			if err != nil {
				t.Fatal(err)
			}
			tmp.Close()
			syscall.Umask(old)

			for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b"), nested} {
				if got := perm(t, d); got != m.Dir() {
					t.Errorf("umask %03o %v: dir %s is %v, want %v", umask, m, d, got, m.Dir())
				}
			}
			for _, p := range []string{filepath.Join(nested, "log"), filepath.Join(dir, "a", "w"), tmp.Name()} {
				if got := perm(t, p); got != m.File() {
					t.Errorf("umask %03o %v: file %s is %v, want %v", umask, m, p, got, m.File())
				}
			}
			if got, err := Of(nested); err != nil || got != m {
				t.Errorf("Of(%s) = %v, %v; want %v", nested, got, err, m)
			}
		}
	}
}

func TestExistingKeepTheirModes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o640)
	f, err := Private.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := perm(t, p); got != 0o640 {
		t.Errorf("existing file changed to %v", got)
	}
	sub := filepath.Join(dir, "d")
	os.Mkdir(sub, 0o755)
	os.Chmod(sub, 0o755)
	if err := Private.MkdirAll(sub); err != nil {
		t.Fatal(err)
	}
	if got := perm(t, sub); got != 0o755 {
		t.Errorf("existing dir changed to %v", got)
	}
	if _, err := Private.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL); err == nil {
		t.Error("O_EXCL on an existing file succeeded")
	}
}

// TestSetgidKept: a directory made in a set-group-ID directory keeps the
// bit, so a shared war room's files keep the directory's group.
func TestSetgidKept(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o770|fs.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if perm(t, dir)&fs.ModeSetgid == 0 {
		t.Skip("this file system ignores set-group-ID on directories")
	}
	sub := filepath.Join(dir, "state")
	if err := Shared.MkdirAll(sub); err != nil {
		t.Fatal(err)
	}
	if got := perm(t, sub); got != 0o770|fs.ModeSetgid {
		t.Errorf("got %v, want drwxrws---", got)
	}
}

func TestWritableBy(t *testing.T) {
	for _, c := range []struct {
		m    Mode
		perm fs.FileMode
		want string
	}{
		{Private, 0o600, ""}, {Private, 0o644, ""}, {Private, 0o664, "its group"}, {Private, 0o666, "others"},
		{Private, 0o755, ""}, {Private, 0o775, "its group"}, {Private, 0o757, "others"},
		{Shared, 0o660, ""}, {Shared, 0o664, ""}, {Shared, 0o666, "others"}, {Shared, 0o775, ""},
	} {
		if got := c.m.WritableBy(c.perm); got != c.want {
			t.Errorf("%v.WritableBy(%v) = %q, want %q", c.m, c.perm, got, c.want)
		}
	}
}
