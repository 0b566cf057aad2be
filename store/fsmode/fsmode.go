// Package fsmode creates warroom's files and directories with exact
// permissions, whatever the process's umask. They hold change records,
// approvals and evidence, so by default they are the owner's alone (files
// 0600, directories 0700); a war room whose operators share one host may
// share them with the group instead (0660, 0770: warroom --share-group).
//
// The rule, for warroom and for every plugin writing in its state
// directory:
//
//   - a new file gets exactly Mode.File(), a new directory exactly
//     Mode.Dir(): the umask cannot widen or narrow them, and a set-group-ID
//     bit a new directory inherits is kept, so the group sticks;
//   - files and directories that exist already keep their permissions
//     (an operator's chmod is respected), but warroom warns when others,
//     or the group where nothing is shared, may write to the database or
//     to a plugin binary (Mode.WritableBy);
//   - a plugin learns the mode from the state directory the host made for
//     it (Of): group-writable means shared.
//
// The package imports nothing of warroom, so the store, the plugin host,
// the built-in plugins and the command line all use this one rule.
package fsmode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Mode is who may read and write the files warroom creates. Its zero value
// is owner-only.
type Mode struct {
	// Shared gives the owner's group read and write access too.
	Shared bool
}

// Private and Shared are the two modes.
var (
	Private = Mode{}
	Shared  = Mode{Shared: true}
)

// File is the permission of a new file: 0600, or 0660 when shared.
func (m Mode) File() fs.FileMode {
	if m.Shared {
		return 0o660
	}
	return 0o600
}

// Dir is the permission of a new directory: 0700, or 0770 when shared.
func (m Mode) Dir() fs.FileMode {
	if m.Shared {
		return 0o770
	}
	return 0o700
}

func (m Mode) String() string {
	if m.Shared {
		return "shared with the group (files 0660, directories 0770)"
	}
	return "owner-only (files 0600, directories 0700)"
}

// Of returns the mode of the files to create in dir: Shared when dir is
// group-writable (the host made it so because warroom runs with
// --share-group), else Private.
func Of(dir string) (Mode, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return Private, err
	}
	return Mode{Shared: fi.Mode().Perm()&0o070 == 0o070}, nil
}

// MkdirAll creates path and its missing parents, each with exactly
// m.Dir(). Directories that exist already are left as they are.
func (m Mode) MkdirAll(path string) error {
	path = filepath.Clean(path)
	fi, err := os.Stat(path)
	if err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: path, Err: errors.New("not a directory")}
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if parent := filepath.Dir(path); parent != path {
		if err := m.MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(path, m.Dir()); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made by someone else meanwhile: theirs
		}
		return err
	}
	return m.fix(path, m.Dir())
}

// Mkdir creates the directory path (its parent must exist) with exactly
// m.Dir(); like os.Mkdir it fails if path exists.
func (m Mode) Mkdir(path string) error {
	if err := os.Mkdir(path, m.Dir()); err != nil {
		return err
	}
	return m.fix(path, m.Dir())
}

// fix sets perm on a path just created, keeping a set-group-ID bit it
// inherited from its parent (which makes the group stick).
func (m Mode) fix(path string, perm fs.FileMode) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	want := perm | fi.Mode()&fs.ModeSetgid
	if fi.Mode()&(fs.ModePerm|fs.ModeSetgid) == want {
		return nil
	}
	if err := os.Chmod(path, want); err != nil {
		return fmt.Errorf("chmod %s %o: %w", path, want, err)
	}
	return nil
}

// OpenFile is os.OpenFile where a file that O_CREATE creates gets exactly
// m.File(); an existing file keeps its permissions.
func (m Mode) OpenFile(name string, flag int) (*os.File, error) {
	if flag&os.O_CREATE == 0 {
		return os.OpenFile(name, flag, 0)
	}
	f, err := os.OpenFile(name, flag|os.O_EXCL, m.File())
	switch {
	case err == nil:
		if err := f.Chmod(m.File()); err != nil {
			f.Close()
			return nil, fmt.Errorf("chmod %s: %w", name, err)
		}
		return f, nil
	case errors.Is(err, fs.ErrExist) && flag&os.O_EXCL == 0:
		return os.OpenFile(name, flag&^os.O_CREATE, 0)
	default:
		return nil, err
	}
}

// Create creates (or truncates) the file name for writing; a new file
// gets exactly m.File().
func (m Mode) Create(name string) (*os.File, error) {
	return m.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC)
}

// WriteFile writes data to name, creating it with exactly m.File() (an
// existing file keeps its permissions).
func (m Mode) WriteFile(name string, data []byte) error {
	f, err := m.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CreateTemp is os.CreateTemp with exactly m.File() (os.CreateTemp makes
// 0600): for files written whole and renamed into place.
func (m Mode) CreateTemp(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(m.File()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	return f, nil
}

// WritableBy says who besides the owner may write to a file or directory
// with permissions perm, when that is more than m allows: "others", or
// "its group" unless m is shared; "" when nobody else may.
func (m Mode) WritableBy(perm fs.FileMode) string {
	switch {
	case perm&0o002 != 0:
		return "others"
	case perm&0o020 != 0 && !m.Shared:
		return "its group"
	}
	return ""
}
