package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/store/fsmode"
)

// umask022 is the usual umask, under which files are created
// world-readable unless warroom sees to it: the tests run warroom under it.
const umask022 = `umask 022 && exec "$0" "$@"`

// runUmask runs the real warroom binary bin under umask 022.
func runUmask(t *testing.T, dir string, env []string, bin string, args ...string) result {
	t.Helper()
	return runProg(t, dir, env, "sh", append([]string{"-c", umask022, bin}, args...)...)
}

// modes lists every file and directory under root (root included) with
// its permissions, by path relative to root.
func modes(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&(fs.ModeSocket|fs.ModeNamedPipe) != 0 {
			return nil // not files anyone reads
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fi.Mode() & (fs.ModePerm | fs.ModeDir)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkModes fails for every file or directory under root whose
// permissions are not exactly m's, and for each of mustHave missing.
func checkModes(t *testing.T, what, root string, m fsmode.Mode, mustHave ...string) {
	t.Helper()
	got := modes(t, root)
	var all []string
	for p, mode := range got {
		all = append(all, p)
		want := m.File()
		if mode.IsDir() {
			want = m.Dir() | fs.ModeDir
		}
		if mode != want {
			t.Errorf("%s: %s has mode %v, want %v", what, p, mode, want)
		}
	}
	slices.Sort(all)
	for _, p := range mustHave {
		if _, ok := got[p]; !ok {
			t.Errorf("%s: no %s (found %v)", what, p, all)
		}
	}
	t.Logf("%s: %d paths checked: %v", what, len(all), all)
}

// TestFileModes: every file and directory that apply and deploy create
// (the database, its -wal and -shm while open, the log, the plugin state
// directories, the exec plugin's journal) is owner-only under umask 022,
// or shared with the group with --share-group or WARROOM_SHARE_GROUP=1.
// The real binary; the exec plugin a real subprocess.
func TestFileModes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  fsmode.Mode
		flags []string
		env   []string
	}{
		{"owner-only", fsmode.Private, nil, nil},
		{"--share-group", fsmode.Shared, []string{"--share-group"}, nil},
		{"WARROOM_SHARE_GROUP=1", fsmode.Shared, nil, []string{"WARROOM_SHARE_GROUP=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDeployWorld(t, "2.0.0") // its spec and plugin configuration; not its database
			home := filepath.Join(t.TempDir(), "warroom")
			if err := os.Mkdir(home, tc.mode.Dir()); err != nil {
				t.Fatal(err)
			}
			// The directory is the operator's; what warroom creates in it counts.
			if err := os.Chmod(home, tc.mode.Dir()); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(home, "warroom.db")
			env := append([]string{"WARROOM_DB=" + db, "WARROOM_PLUGINS=" + w.plugins}, tc.env...)
			run := func(args ...string) {
				t.Helper()
				r := runUmask(t, w.dir, env, warroomBin, append(slices.Clone(tc.flags), args...)...)
				if r.code != 0 {
					t.Fatalf("warroom %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
				if strings.Contains(r.stderr, "warning") {
					t.Errorf("warroom %s warned: %s", strings.Join(args, " "), r.stderr)
				}
			}
			run("apply", "-f", filepath.Join(w.dir, "org.yaml"))
			checkModes(t, "apply", home, tc.mode, "warroom.db")
			run("plugins", "trust", "scripts")
			run("deploy", "start", "train", "--follow", "--ignore-low-traffic")
			checkModes(t, "deploy", home, tc.mode, "warroom.db", "warroom.log",
				"plugin-state", "plugin-state/scripts", "plugin-state/scripts/exec-journal.jsonl")

			// The umask reached the plugin's shell: a file its deploy
			// script made is 0644, so the modes above are warroom's doing.
			if fi, err := os.Stat(filepath.Join(w.dir, "deploys.log")); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("deploys.log written by the plugin's shell: %v, want 0644 (umask 022)", err)
			}

			// -wal and -shm exist while a process has the database open:
			// serve holds it open. SQLite gives them the database file's
			// permissions.
			serve := exec.Command("sh", append([]string{"-c", umask022, warroomBin}, append(slices.Clone(tc.flags), "serve")...)...)
			serve.Dir = w.dir
			serve.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
			out, err := serve.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			serve.Stderr = &stderr
			if err := serve.Start(); err != nil {
				t.Fatal(err)
			}
			defer serve.Process.Kill() //nolint:errcheck
			serving := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if strings.Contains(sc.Text(), "serving:") {
						serving <- true
					}
				}
				close(serving)
			}()
			select {
			case ok := <-serving:
				if !ok {
					t.Fatalf("serve ended: %s", stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("serve did not start: %s", stderr.String())
			}
			checkModes(t, "serve", home, tc.mode, "warroom.db", "warroom.db-wal", "warroom.db-shm")
			_ = serve.Process.Signal(syscall.SIGINT)
			_ = serve.Wait()
		})
	}
}

// TestDemoFileModes: every file and directory a short headless demo
// creates (its directory, the database, the log, the local fleet's state)
// is owner-only under umask 022.
func TestDemoFileModes(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys a release on real processes")
	}
	bin := fleetLayout(t)
	dir := filepath.Join(t.TempDir(), "demo")
	// No bake (and so no canary judgement): the files are what matters.
	r := runUmask(t, repo(), nil, bin, "demo", "--dir", dir, "--headless", "--once", "--approve", "--env", "dev", "--bake-scale", "0")
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	checkModes(t, "demo", dir, fsmode.Private, ".", "warroom.db", "warroom.log", "plugin-state", "plugin-state/localfleet")
}

// TestWritableWarnings: warroom warns, on stderr and in the log, when
// others (or the group, unless shared) may write to the database or to a
// plugin binary it launches; the command still runs.
func TestWritableWarnings(t *testing.T) {
	w := newDeployWorld(t, "2.0.0")
	dir := t.TempDir()
	db := filepath.Join(dir, "warroom.db")
	log := filepath.Join(dir, "warroom.log")
	// A copy of the plugin, group-writable; trusted by its checksum.
	src, err := os.ReadFile(execPlugin(t))
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(dir, "exec")
	if err := os.WriteFile(plugin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "plugins.yaml")
	if err := os.WriteFile(cfg, []byte("plugins:\n  - name: scripts\n    path: "+plugin+"\n    kinds: [deploy-target]\n    settings:\n      deploy: 'true'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"WARROOM_DB=" + db, "WARROOM_PLUGINS=" + cfg}
	if r := runBin(t, dir, env, "apply", "-f", filepath.Join(w.dir, "org.yaml")); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	if r := runBin(t, dir, env, "plugins", "trust", "scripts"); r.code != 0 || r.stderr != "" {
		t.Fatalf("trust: exit %d: %s", r.code, r.stderr)
	}

	for _, c := range []struct {
		perm  fs.FileMode
		share bool
		want  string // "" for no warning
	}{
		{0o600, false, ""},
		{0o644, false, ""},
		{0o664, false, "may be written by its group"},
		{0o664, true, ""},
		{0o666, false, "may be written by others"},
		{0o666, true, "may be written by others"},
	} {
		os.Chmod(db, c.perm)
		os.Remove(log)
		e := env
		if c.share {
			e = append(slices.Clone(env), "WARROOM_SHARE_GROUP=1")
		}
		r := runBin(t, dir, e, "release", "list")
		logged, _ := os.ReadFile(log)
		if c.want == "" {
			if r.code != 0 || r.stderr != "" {
				t.Errorf("db %04o share=%v: exit %d, stderr %q, want no warning", c.perm, c.share, r.code, r.stderr)
			}
			continue
		}
		line := "warroom: warning: database " + db
		if r.code != 0 || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, line) || !strings.Contains(r.stderr, c.want) ||
			!strings.Contains(r.stderr, "chmod go-w "+db) || !strings.Contains(string(logged), "[WARN]  warroom: database "+db) {
			t.Errorf("db %04o share=%v: exit %d\nstderr %q\nlog %q\nwant one line %q... %q", c.perm, c.share, r.code, r.stderr, logged, line, c.want)
		}
	}
	os.Chmod(db, 0o600)

	// The plugin binary: group-writable.
	os.Chmod(plugin, 0o775)
	os.Remove(log)
	r := runBin(t, dir, env, "plugins", "list")
	logged, _ := os.ReadFile(log)
	want := "plugin scripts: its binary " + plugin + " (mode 0775) may be written by its group"
	if r.code != 0 || !strings.Contains(r.stderr, "warroom: warning: "+want) || !strings.Contains(string(logged), want) {
		t.Errorf("group-writable plugin: exit %d\nstderr %q\nlog %q\nwant %q", r.code, r.stderr, logged, want)
	}
	if strings.Count(r.stderr, want) != 1 {
		t.Errorf("warned %d times, want once: %q", strings.Count(r.stderr, want), r.stderr)
	}
}

// TestShareGroupEnv: WARROOM_SHARE_GROUP is 1/true/yes or 0/false/no (or
// unset); anything else is a usage error, not a silent choice.
func TestShareGroupEnv(t *testing.T) {
	dir := t.TempDir()
	for v, want := range map[string]int{"maybe": exitUsage, "2": exitUsage, "1": exitOK, "yes": exitOK, "0": exitOK, "false": exitOK} {
		r := runBin(t, dir, []string{"WARROOM_SHARE_GROUP=" + v}, "version")
		if r.code != want || (want == exitUsage && !strings.Contains(r.stderr, "WARROOM_SHARE_GROUP")) {
			t.Errorf("WARROOM_SHARE_GROUP=%s: exit %d, want %d\n%s", v, r.code, want, r.stderr)
		}
	}
}
