package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/internal/runner"
	"github.com/warroom/warroom/plugins/sdk"
)

// The tests run a real ansible-playbook against localhost over the local
// connection. Ansible starts slowly (1-2 s a run), so each test makes
// few runs and they run in parallel.

var (
	pluginBin  string        // built by TestMain for the end-to-end test
	buildErr   error         // why it could not be built
	buildDone  chan struct{} // closed when the build has ended
	testHome   string        // HOME of every run; nothing may write ~/.ansible
	ansibleBin string        // "" when ansible-playbook is missing
)

func TestMain(m *testing.M) {
	flag.Parse()
	tmp, err := os.MkdirTemp("", "warroom-ansible-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDone = make(chan struct{})
	if gobin, err := exec.LookPath("go"); testing.Short() || err != nil {
		buildErr = errors.New("no go tool, or -short")
		close(buildDone)
	} else {
		// Built while the other tests run; the end-to-end test waits.
		pluginBin = filepath.Join(tmp, "ansible-plugin")
		cmd := exec.Command(gobin, "build", "-o", pluginBin, ".")
		cmd.Env = os.Environ() // before HOME changes below: keep the build cache
		go func() {
			defer close(buildDone)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			}
		}()
	}
	ansibleBin, _ = exec.LookPath("ansible-playbook")
	testHome = filepath.Join(tmp, "home")
	if err := os.Mkdir(testHome, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("HOME", testHome)
	code := m.Run()
	<-buildDone
	os.RemoveAll(tmp)
	os.Exit(code)
}

// needAnsible skips a test without ansible-playbook, except in CI, which
// must have it (scripts/setup installs it).
func needAnsible(t *testing.T) {
	t.Helper()
	if ansibleBin != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("ansible-playbook is not installed; CI must have it (scripts/setup installs ansible-core)")
	}
	t.Skip("ansible-playbook is not installed")
}

// ---- helpers ----

type sink struct {
	mu     sync.Mutex
	events []sdk.DeployEvent
}

func (s *sink) Send(e sdk.DeployEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return nil
}

func (s *sink) all() []sdk.DeployEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// setup writes the playbooks into a fresh workdir and configures a
// target on it; extra_vars gets {"out": DIR}, a directory for the
// playbooks' output.
func setup(t *testing.T, playbooks map[string]string, settings map[string]string) (*target, string) {
	t.Helper()
	dir := t.TempDir()
	work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out")
	for _, d := range []string{work, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	all := map[string]string{"workdir": work, "extra_vars": fmt.Sprintf(`{"out": %q}`, out)}
	for setting, body := range playbooks {
		file := setting + ".yml"
		if err := os.WriteFile(filepath.Join(work, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		all[setting] = file
	}
	for k, v := range settings {
		all[k] = v
	}
	tg := &target{killGrace: time.Second}
	if err := tg.Configure(context.Background(), sdk.Config{StateDir: filepath.Join(dir, "state"), Settings: all}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { tg.journal.Close() })
	return tg, out
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func wantCode(t *testing.T, err error, code sdk.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %d", code)
	}
	if got := sdk.CodeOf(err); got != code {
		t.Fatalf("code %d, want %d: %v", got, code, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

var payments = sdk.Target{Service: "payments", Environment: "prod", Region: "eu-west-1"}

// ---- configuration (no ansible run) ----

func TestConfigureRefusals(t *testing.T) {
	dir := t.TempDir()
	pb := filepath.Join(dir, "site.yml")
	os.WriteFile(pb, []byte("- hosts: all\n  tasks: []\n"), 0o644)
	ok := map[string]string{"playbook": pb, "ansible_playbook": "/bin/true"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name     string
		settings map[string]string
		contains []string
	}{
		{"unknown", with("playbok", "x"), []string{`unknown setting "playbok"`, "playbook, deploy_playbook", "workdir"}},
		{"no playbook", with("playbook", ""), []string{"no playbook configured: set playbook"}},
		{"missing playbook", with("playbook", "nope.yml"), []string{"setting playbook: playbook", "nope.yml does not exist"}},
		{"missing phase playbook", with("verify_playbook", "/no/verify.yml"), []string{"setting verify_playbook", "/no/verify.yml does not exist"}},
		{"playbook is a dir", with("playbook", dir), []string{"is not a file"}},
		{"missing inventory", with("inventory", "hosts.ini"), []string{"setting inventory", "hosts.ini does not exist"}},
		{"bad binary", with("ansible_playbook", "/no/ansible-playbook"), []string{"setting ansible_playbook", "/no/ansible-playbook"}},
		{"extra vars not JSON", with("extra_vars", "app=1"), []string{"extra_vars", "JSON object"}},
		{"extra vars not an object", with("extra_vars", "[1]"), []string{"extra_vars", "JSON object"}},
		{"extra vars reserved", with("extra_vars", `{"warroom_version": "x"}`), []string{`"warroom_version"`, "reserved"}},
		{"timeout", with("timeout", "soon"), []string{"timeout", `"soon"`}},
		{"workdir", with("workdir", "/no/dir"), []string{"workdir", "not a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&target{}).Configure(context.Background(), sdk.Config{StateDir: t.TempDir(), Settings: tt.settings})
			wantCode(t, err, sdk.CodeInvalid, tt.contains...)
		})
	}
	t.Run("not configured", func(t *testing.T) {
		_, err := (&target{}).Status(context.Background(), sdk.StatusRequest{})
		wantCode(t, err, sdk.CodeFailedPrecondition)
	})
	t.Run("defaults", func(t *testing.T) {
		state := t.TempDir()
		tg := &target{}
		if err := tg.Configure(context.Background(), sdk.Config{StateDir: state, Settings: with(
			"deploy_playbook", pb, "inventory", "web1,web2,", "timeout", "90s")}); err != nil {
			t.Fatal(err)
		}
		defer tg.journal.Close()
		c := tg.cfg
		if c.timeout != 90*time.Second || c.inventory != "web1,web2," || c.workdir != state ||
			!c.shared[phaseVerify] || c.shared[phaseDeploy] || len(c.playbooks) != len(phases) {
			t.Errorf("config %+v", c)
		}
		caps, _ := tg.Describe(context.Background())
		if !caps.TrafficShifting || !caps.Status {
			t.Errorf("capabilities %+v", caps)
		}
		// Without an inventory setting: the generated localhost one.
		if err := tg.Configure(context.Background(), sdk.Config{StateDir: state, Settings: with("timeout", "")}); err != nil {
			t.Fatal(err)
		}
		if got := read(t, tg.cfg.inventory); got != localInventory || tg.cfg.timeout != defaultTimeout {
			t.Errorf("inventory %s %q, timeout %s", tg.cfg.inventory, got, tg.cfg.timeout)
		}
	})
}

// ---- real ansible-playbook runs ----

// deployPlaybook serves every phase but acts in deploys only.
const deployPlaybook = `
- name: Deploy {{ warroom_service }}
  hosts: all
  gather_facts: false
  tasks:
    - when: warroom_phase == 'deploy'
      block:
        - name: Count the run
          shell: echo run >> {{ out }}/count
        - name: Write version
          copy:
            dest: "{{ out }}/version"
            content: "{{ warroom_version }}\n"
        - name: Dump the warroom vars
          copy:
            dest: "{{ out }}/vars.json"
            content: "{{ vars | dict2items | selectattr('key', 'match', '^warroom_') | items2dict | to_json }}"
`

func TestDeployRunsThePlaybookStreamsTasksAndReplays(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	tg, out := setup(t, map[string]string{"playbook": deployPlaybook}, nil)
	ctx := context.Background()
	req := sdk.DeployRequest{
		IdempotencyKey: "run-7/3/1", Target: payments, Version: "3.2.0", FromVersion: "3.1.0",
		Artifact: sdk.Artifact{Digest: "sha256:abc"}, Strategy: "rolling", BatchSize: 2, Instances: 4,
		Settings: map[string]string{"drain": "{{ 30 }}s"}, RunID: "run-7", Step: 3, Attempt: 1,
	}
	s := &sink{}
	if err := tg.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(out, "version")); got != "3.2.0\n" {
		t.Errorf("version file %q", got)
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(read(t, filepath.Join(out, "vars.json"))), &vars); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"warroom_phase": "deploy", "warroom_service": "payments", "warroom_environment": "prod",
		"warroom_region": "eu-west-1", "warroom_version": "3.2.0", "warroom_from_version": "3.1.0",
		"warroom_strategy": "rolling", "warroom_weight": 0.0, "warroom_batch_size": 2.0, "warroom_instances": 4.0,
		"warroom_artifact_digest": "sha256:abc", "warroom_run_id": "run-7", "warroom_step": 3.0,
		"warroom_idempotency_key": "run-7/3/1", "warroom_reason": "", "warroom_status_file": "",
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %#v, want %#v", k, vars[k], v)
		}
	}
	if ws, ok := vars["warroom_weights"].([]any); !ok || len(ws) != 0 {
		t.Errorf("warroom_weights = %#v", vars["warroom_weights"])
	}
	// A setting is data: not templated.
	if st, _ := vars["warroom_settings"].(map[string]any); st["drain"] != "{{ 30 }}s" {
		t.Errorf("warroom_settings = %#v", vars["warroom_settings"])
	}

	// One event per task, named after it, percent growing; results as messages.
	var tasks []string
	last := -1
	for _, e := range s.all() {
		if e.At.IsZero() || e.InstancesTotal != 4 || e.Done {
			t.Errorf("event %+v", e)
		}
		if strings.HasPrefix(e.Message, "TASK [") {
			tasks = append(tasks, e.Phase)
			if e.Percent <= last || e.Percent >= 100 {
				t.Errorf("percent %d after %d", e.Percent, last)
			}
			last = e.Percent
		}
	}
	if !slices.Equal(tasks, []string{"Count the run", "Write version", "Dump the warroom vars"}) {
		t.Errorf("task events %v\nall: %+v", tasks, s.all())
	}
	if !slices.ContainsFunc(s.all(), func(e sdk.DeployEvent) bool {
		return e.Phase == "Write version" && e.Message == "changed: [localhost]"
	}) {
		t.Errorf("no changed message: %+v", s.all())
	}

	// The same key again: replayed, not run.
	s = &sink{}
	if err := tg.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	if ev := s.all(); len(ev) != 1 || !ev[0].Done || !ev[0].Replayed || ev[0].Failed {
		t.Errorf("replay events %+v", ev)
	}
	if n := lines(t, filepath.Join(out, "count")); n != 1 {
		t.Errorf("the playbook ran %d times for one key", n)
	}
	st, err := tg.Status(ctx, sdk.StatusRequest{Target: sdk.Target{Environment: "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	// The playbook skips the status phase: the journal speaks.
	if !slices.Equal(st.AppliedKeys, []string{"run-7/3/1"}) || len(st.Services) != 1 ||
		st.Services[0].Versions[0].Version != "3.2.0" ||
		!strings.Contains(st.Services[0].Message, "not observed (the playbook wrote nothing to warroom_status_file") {
		t.Errorf("status %+v", st)
	}
	if n := lines(t, filepath.Join(out, "count")); n != 1 {
		t.Errorf("the status phase deployed")
	}
	// Nothing of ansible's own went to ~/.ansible.
	if _, err := os.Stat(filepath.Join(testHome, ".ansible")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("~/.ansible was created (%v)", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(tg.cfg.stateDir, callsDir)); len(entries) != 0 {
		t.Errorf("call files left behind: %v", entries)
	}
}

func TestFailingTaskIsNamedInTheError(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	tg, out := setup(t, map[string]string{"deploy_playbook": `
- hosts: all
  gather_facts: false
  tasks:
    - name: Stop payments
      shell: echo run >> {{ out }}/count
    - name: Start payments {{ warroom_version }}
      shell: echo "port 8080 in use" >&2; exit 3
    - name: Never reached
      debug: msg=no
`}, nil)
	req := sdk.DeployRequest{IdempotencyKey: "k", Target: payments, Version: "3.2.0"}
	s := &sink{}
	err := tg.Deploy(context.Background(), req, s)
	const want = `ansible task "Start payments 3.2.0" failed on localhost: non-zero return code 3: port 8080 in use (play recap: localhost failed=1 unreachable=0)`
	if err == nil || err.Error() != want {
		t.Fatalf("err\n got %v\nwant %s", err, want)
	}
	wantCode(t, err, sdk.CodeInternal)
	if !slices.ContainsFunc(s.all(), func(e sdk.DeployEvent) bool {
		return e.Phase == "Start payments 3.2.0" && e.Message == "failed on localhost: non-zero return code 3: port 8080 in use"
	}) {
		t.Errorf("no failure event: %+v", s.all())
	}
	if e, _ := tg.journal.Lookup("k"); e.State != runner.Failed || e.Message != want {
		t.Errorf("journal %+v", e)
	}
	// Replayed as a failure, not run again.
	s = &sink{}
	err = tg.Deploy(context.Background(), req, s)
	wantCode(t, err, sdk.CodeInternal, "not run again", want)
	if ev := s.all(); len(ev) != 1 || !ev[0].Failed || !ev[0].Replayed {
		t.Errorf("replay events %+v", ev)
	}
	if n := lines(t, filepath.Join(out, "count")); n != 1 {
		t.Errorf("ran %d times", n)
	}
}

// onePlaybook serves every phase, branching on warroom_phase.
const onePlaybook = `
- hosts: all
  gather_facts: false
  tasks:
    - name: Roll back
      copy:
        dest: "{{ out }}/rollback"
        content: "{{ warroom_version }} from {{ warroom_from_version }}: {{ warroom_reason }}"
      when: warroom_phase == 'rollback'
    - name: Shift traffic
      copy:
        dest: "{{ out }}/traffic"
        content: "{{ warroom_version }}={{ warroom_weight }} {{ warroom_weights | to_json }}"
      when: warroom_phase == 'set_traffic'
    - name: Report status
      copy:
        dest: "{{ warroom_status_file }}"
        content: >-
          {{ {'services': [{'target': {'service': warroom_service},
               'versions': [{'version': lookup('file', out ~ '/rollback').split()[0], 'instances': 1, 'ready': 1, 'weight': 100}],
               'healthy': true, 'message': 'read back'}],
              'applied_keys': ['from-playbook']} | to_json }}
      when: warroom_phase == 'status'
`

func TestRollbackTrafficAndStatusWithOnePlaybook(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	tg, out := setup(t, map[string]string{"playbook": onePlaybook}, nil)
	ctx := context.Background()
	s := &sink{}
	err := tg.Rollback(ctx, sdk.RollbackRequest{
		IdempotencyKey: "rb", Target: payments, ToVersion: "3.1.0", FromVersion: "3.2.0",
		Reason: "smoke test said {{ 7 * 6 }}", RunID: "run-7", Step: 3,
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	// The reason arrives as data, not evaluated as a template.
	if got := read(t, filepath.Join(out, "rollback")); got != "3.1.0 from 3.2.0: smoke test said {{ 7 * 6 }}" {
		t.Errorf("rollback file %q", got)
	}
	if ev := s.all(); len(ev) < 4 || !slices.ContainsFunc(ev, func(e sdk.DeployEvent) bool {
		return e.Phase == "Shift traffic" && e.Message == "skipping: [localhost]"
	}) {
		t.Errorf("events %+v", ev)
	}

	// The version last rolled back to is the one traffic moves to.
	weights := []sdk.TrafficWeight{{Version: "3.2.0", Percent: 75}, {Version: "3.1.0", Percent: 25}}
	got, err := tg.SetTraffic(ctx, sdk.SetTrafficRequest{IdempotencyKey: "w1", Target: payments, Weights: weights})
	if err != nil || !slices.Equal(got, weights) {
		t.Fatalf("SetTraffic = %v, %v", got, err)
	}
	if got := read(t, filepath.Join(out, "traffic")); got != `3.1.0=25 [{"percent": 75, "version": "3.2.0"}, {"percent": 25, "version": "3.1.0"}]` {
		t.Errorf("traffic file %q", got)
	}

	st, err := tg.Status(ctx, sdk.StatusRequest{Target: payments})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || st.Services[0].Target != payments || st.Services[0].Message != "read back" ||
		st.Services[0].Versions[0].Version != "3.1.0" {
		t.Errorf("status %+v", st)
	}
	if !slices.Equal(st.AppliedKeys, []string{"from-playbook", "rb", "w1"}) {
		t.Errorf("applied keys %v", st.AppliedKeys)
	}
}

func TestVerifyWithAFailingAssert(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	tg, _ := setup(t, map[string]string{"verify_playbook": `
- hosts: all
  gather_facts: false
  tasks:
    - name: Health endpoint
      debug:
        msg: "healthy at {{ warroom_version }}, checks {{ warroom_checks | join(',') }}"
    - name: Only in deploys
      debug: msg=no
      when: warroom_phase == 'deploy'
    - name: Error rate below 1%
      assert:
        that: false
        fail_msg: "error rate 7% > 1%"
    - name: Never reached
      debug: msg=no
`}, nil)
	checks, err := tg.Verify(context.Background(), sdk.VerifyRequest{Target: payments, Version: "3.2.0", Checks: []string{"http", "errors"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 {
		t.Fatalf("checks %+v", checks)
	}
	if c := checks[0]; c.Name != "Health endpoint" || !c.Passed || c.Message != "healthy at 3.2.0, checks http,errors" {
		t.Errorf("check 0 %+v", c)
	}
	if c := checks[1]; c.Name != "Error rate below 1%" || c.Passed || c.Message != "failed on localhost: error rate 7% > 1%" {
		t.Errorf("check 1 %+v", c)
	}
	// Preflight has no playbook: nothing checked.
	pf, err := tg.Preflight(context.Background(), sdk.PreflightRequest{Target: payments})
	if err != nil || len(pf) != 1 || !pf[0].Passed || pf[0].Message != "no preflight playbook configured; nothing checked" {
		t.Errorf("preflight %+v, %v", pf, err)
	}
}

func TestTimeoutKillsAnsiblesProcessGroup(t *testing.T) {
	needAnsible(t)
	t.Parallel()
	tg, out := setup(t, map[string]string{"deploy_playbook": `
- hosts: all
  gather_facts: false
  tasks:
    - name: Hang
      shell: "sleep 300 & echo $! > {{ out }}/child.pid; wait"
`}, map[string]string{"timeout": "6s"})
	start := time.Now()
	err := tg.Deploy(context.Background(), sdk.DeployRequest{IdempotencyKey: "k", Target: payments, Version: "1"}, &sink{})
	wantCode(t, err, sdk.CodeInternal, "timed out after 6s and its process group was killed")
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Deploy took %s with a 6s timeout", d)
	}
	if strings.Contains(err.Error(), `ansible task "Hang" timed out`) {
		b, err := os.ReadFile(filepath.Join(out, "child.pid"))
		if err != nil {
			t.Fatalf("the task ran but wrote no pid: %v", err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		waitFor(t, "the task's sleep to die", func() bool { return !alive(pid) })
	} else {
		t.Logf("ansible had not reached the task in 6s (a slow machine): %v", err)
	}
	// Nothing of the run is left: ansible-playbook, its workers and the
	// module all name the test's directory on their command line.
	dir := filepath.Dir(out)
	waitFor(t, "ansible's processes to die", func() bool { return len(procsMentioning(dir)) == 0 })
	if e, _ := tg.journal.Lookup("k"); e.State != runner.Failed {
		t.Errorf("a timed-out deploy is recorded %q, want failed", e.State)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether a process runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// procsMentioning lists the live processes whose command line contains s.
func procsMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
