package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/warroom/warroom/plugins/sdk"
)

// TestFilesFollowStateDirMode: what the plugin creates in its state
// directory (the generated inventory, its ansible and calls directories,
// the journal, a call's extra-vars file) gets exactly the state
// directory's mode, owner-only or shared with the group, under umask 022.
func TestFilesFollowStateDirMode(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	pb := filepath.Join(t.TempDir(), "site.yml")
	os.WriteFile(pb, []byte("- hosts: all\n  tasks: []\n"), 0o644)
	for _, c := range []struct{ dir, file fs.FileMode }{{0o700, 0o600}, {0o770, 0o660}} {
		state := t.TempDir()
		if err := os.Chmod(state, c.dir); err != nil {
			t.Fatal(err)
		}
		tg := &target{}
		if err := tg.Configure(context.Background(), sdk.Config{StateDir: state, Settings: map[string]string{
			"playbook": pb, "ansible_playbook": "/bin/true"}}); err != nil {
			t.Fatal(err)
		}
		varsPath, _, cleanup, err := callFiles(tg.cfg, "deploy")
		if err != nil {
			t.Fatal(err)
		}
		if err := writeVars(varsPath, tg.cfg, map[string]any{"warroom_phase": "deploy"}); err != nil {
			t.Fatal(err)
		}
		want := map[string]fs.FileMode{
			inventoryFile: c.file, journalFile: c.file, ansibleDir: c.dir, callsDir: c.dir,
			filepath.Join(callsDir, filepath.Base(varsPath)): c.file,
		}
		for name, perm := range want {
			fi, err := os.Stat(filepath.Join(state, name))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != perm {
				t.Errorf("state dir %04o: %s is %04o, want %04o", c.dir, name, fi.Mode().Perm(), perm)
			}
		}
		cleanup()
		tg.journal.Close()
	}
}
