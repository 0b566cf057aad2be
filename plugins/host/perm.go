package host

import (
	"fmt"
	"os"
)

// warnWritable tells the log, and the launcher's Warn, when others (or
// the group, where the state is not shared with it) may write to the
// plugin binary about to run: the checksum stops a changed binary from
// running, but an operator who trusts the rebuilt one runs whatever was
// put there. The binary still runs; the warning is the operator's cue to
// chmod it.
func warnWritable(exe string, s launchSpec) {
	fi, err := os.Stat(exe)
	if err != nil {
		return // the launch reports it
	}
	who := s.mode.WritableBy(fi.Mode().Perm())
	if who == "" {
		return
	}
	msg := fmt.Sprintf("plugin %s: its binary %s (mode %04o) may be written by %s: make it writable by its owner only (chmod go-w %s)",
		s.name, exe, fi.Mode().Perm(), who, exe)
	s.logger.Warn(msg)
	if s.warn != nil {
		s.warn(msg)
	}
}
