// Package journalfile is the file under a plugin's idempotency journal:
// append-only JSON lines, each synced to disk before the call that wrote
// it returns, so that what the journal says was started or done survives
// a crash of the plugin or of the machine. A torn last line (a crash
// mid-write: the call it recorded never returned) is cut off when the
// file is opened again; any other line that does not parse is an error,
// since dropping it could lose a completed key.
//
// The journals themselves (plugins/internal/runner's, localfleet's) keep
// their own entries and what they make of them; this package only keeps
// the bytes safe.
package journalfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/warroom/warroom/store/fsmode"
)

// File is an open journal file. It is not safe for concurrent use: the
// journal that owns it serialises its appends (with the state they
// update).
type File struct {
	f *os.File
}

// Open opens the journal at path, creating it with mode (owner-only, or
// shared with the group when the host made the state directory so), and
// gives apply every entry already in it, in order.
func Open[E any](path string, mode fsmode.Mode, apply func(E)) (*File, error) {
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := mode.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if created {
		// The new file's directory entry must survive a crash too.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	if err := load(f, path, apply); err != nil {
		f.Close()
		return nil, err
	}
	return &File{f: f}, nil
}

func load[E any](f *os.File, path string, apply func(E)) error {
	r := bufio.NewReader(f)
	var offset int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				// A torn write: the call it recorded never returned.
				if err := f.Truncate(offset); err != nil {
					return fmt.Errorf("journal %s: cutting off a torn last line: %w", path, err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("journal %s: %w", path, err)
		}
		offset += int64(len(line))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e E
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("journal %s line %d is corrupt (%v): repair or remove the line", path, n, err)
		}
		apply(e)
	}
}

// Append writes e as one line and syncs it to disk.
func (j *File) Append(e any) error {
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if j.f == nil {
		return errors.New("journal: closed")
	}
	if _, err := j.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Close closes the file; appends after it fail, and a second Close does
// nothing.
func (j *File) Close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
