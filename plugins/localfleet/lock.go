package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
	"github.com/warroom/warroom/plugins/sdk"
)

const lockFile = fleetctl.FleetLockFile

// fleetLock is the flock on <state dir>/fleet.lock that makes one plugin
// process the only one running a fleet for a state dir. The kernel drops
// it when the process dies, however it dies, so a stale lock cannot
// outlive its holder.
type fleetLock struct {
	f    *os.File
	path string
}

// acquireLock takes the lock or says who holds it. The file holds the
// holder's warroom pid (the plugin's parent) and its own pid.
func acquireLock(stateDir string) (*fleetLock, error) {
	path := filepath.Join(stateDir, lockFile)
	f, err := stateMode(stateDir).OpenFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("localfleet: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			parent, plugin := parseLockFile(string(b))
			return nil, sdk.Errorf(sdk.CodeFailedPrecondition,
				"localfleet: another warroom process (pid %s) runs this local fleet (its localfleet plugin is pid %s; lock %s): "+
					"use that process, stop it, or give this one another state dir", parent, plugin, path)
		}
		return nil, fmt.Errorf("localfleet: lock %s: %w", path, err)
	}
	content := fmt.Sprintf("warroom_pid=%d\nplugin_pid=%d\n", os.Getppid(), os.Getpid())
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(content), 0)
	}
	return &fleetLock{f: f, path: path}, nil
}

func parseLockFile(s string) (parent, plugin string) {
	parent, plugin = "unknown", "unknown"
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		if _, err := strconv.Atoi(v); err != nil {
			continue
		}
		switch k {
		case "warroom_pid":
			parent = v
		case "plugin_pid":
			plugin = v
		}
	}
	return parent, plugin
}

// release gives the lock up.
func (l *fleetLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
}
