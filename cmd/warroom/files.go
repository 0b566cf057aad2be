package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/warroom/warroom/store/fsmode"
)

// The files warroom creates (the database and its -wal and -shm, the log,
// the plugins' state directories, the demo's directory) hold change
// records, approvals and evidence: they are the owner's alone (files 0600,
// directories 0700), whatever the umask, unless --share-group (or
// WARROOM_SHARE_GROUP=1) shares them with the group (0660, 0770) for a war
// room whose operators share one host. Files that exist keep their modes;
// warroom warns when others (or the group, when nothing is shared) may
// write to the database or to a plugin binary. store/fsmode holds the
// rule; plugins follow their state directory's.

// mode is who may use the files warroom creates.
func (a *app) mode() fsmode.Mode { return fsmode.Mode{Shared: a.shareGroup} }

// parseShareGroup reads WARROOM_SHARE_GROUP.
func parseShareGroup(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no":
		return false, nil
	case "1", "true", "yes":
		return true, nil
	}
	return false, usageError{fmt.Errorf("WARROOM_SHARE_GROUP=%q: use 1 to share warroom's files with the group, 0 (or unset) to keep them owner-only", v)}
}

// openLog opens the log file for appending, creating it with warroom's
// mode.
func (a *app) openLog() (*os.File, error) {
	f, err := a.mode().OpenFile(a.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("open log file (--log-file): %w", err)
	}
	return f, nil
}

// warn says msg once: one line on stderr, and in the log file.
func (a *app) warn(msg string) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if a.warned == nil {
		a.warned = map[string]bool{}
	}
	if a.warned[msg] {
		return
	}
	a.warned[msg] = true
	fmt.Fprintf(a.stderr, "warroom: warning: %s\n", msg)
	if a.stderrIsLog || a.logFile == "" {
		return // the console sends stderr to the log already
	}
	if f, err := a.openLog(); err == nil {
		fmt.Fprintf(f, "%s [WARN]  warroom: %s\n", time.Now().Format("2006-01-02T15:04:05.000Z0700"), msg)
		f.Close()
	}
}

// checkDBFile warns when others (or the group, unless shared) may write
// to the database file.
func (a *app) checkDBFile() {
	fi, err := os.Stat(a.dbPath)
	if err != nil {
		return
	}
	if who := a.mode().WritableBy(fi.Mode().Perm()); who != "" {
		a.warn(fmt.Sprintf("database %s (mode %04o) may be written by %s, who could forge its records and approvals: make it writable by its owner only (chmod go-w %s), or by its group with --share-group",
			a.dbPath, fi.Mode().Perm(), who, a.dbPath))
	}
}
