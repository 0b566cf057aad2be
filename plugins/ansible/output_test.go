package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/plugins/internal/runner"
	"github.com/warroom/warroom/plugins/sdk"
)

// Real output of ansible-core 2.14 with the plugin's environment.
const sampleOutput = `
PLAY [Deploy things] ***********************************************************

TASK [Write version] ***********************************************************
changed: [localhost]

TASK [Say [hi]] ****************************************************************
ok: [localhost] => {"msg": "hello 3.2.0"}

TASK [loop] ********************************************************************
failed: [localhost] (item=a) => {"ansible_loop_var": "item", "changed": true, "cmd": ["false"], "item": "a", "msg": "non-zero return code", "rc": 1, "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
failed: [localhost] (item={'x': 1}) => {"ansible_loop_var": "item", "changed": true, "cmd": ["false"], "item": {"x": 1}, "msg": "non-zero return code", "rc": 1, "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
...ignoring

TASK [inner fails] *************************************************************
fatal: [localhost]: FAILED! => {"changed": false, "msg": "inner boom"}

TASK [rescuer] *****************************************************************
ok: [localhost] => {"msg": "rescued"}

TASK [Start payments 3.2.0] ****************************************************
fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["sh", "-c", "echo oops >&2; exit 3"], "msg": "non-zero return code", "rc": 3, "stderr": "oops", "stderr_lines": ["oops"], "stdout": "", "stdout_lines": []}

PLAY RECAP *********************************************************************
localhost                  : ok=4    changed=2    unreachable=0    failed=1    skipped=0    rescued=1    ignored=1   
`

func feed(out string) (*tracker, []update) {
	tr := newTracker()
	var ups []update
	for _, l := range strings.Split(out, "\n") {
		if u, ok := tr.line(l); ok {
			ups = append(ups, u)
		}
	}
	return tr, ups
}

func TestTrackerReadsTasksFailuresAndRecap(t *testing.T) {
	tr, ups := feed(sampleOutput)
	var names []string
	for _, tk := range tr.tasks {
		names = append(names, tk.name)
	}
	if got := strings.Join(names, "|"); got != "Write version|Say [hi]|loop|inner fails|rescuer|Start payments 3.2.0" {
		t.Errorf("tasks %s", got)
	}
	want := []update{
		{"", "PLAY [Deploy things]", 0},
		{"Write version", "TASK [Write version]", 0},
		{"Write version", "changed: [localhost]", 0},
		{"Say [hi]", "TASK [Say [hi]]", 50},
		{"Say [hi]", `ok: [localhost] => {"msg": "hello 3.2.0"}`, 50},
		{"loop", "TASK [loop]", 66},
		{"loop", "failed on localhost (item a): non-zero return code 1", 66},
		{"loop", "failed on localhost (item {'x': 1}): non-zero return code 1", 66},
		{"loop", "...ignoring", 66},
		{"inner fails", "TASK [inner fails]", 75},
		{"inner fails", "failed on localhost: inner boom", 75},
		{"rescuer", "TASK [rescuer]", 80},
		{"rescuer", `ok: [localhost] => {"msg": "rescued"}`, 80},
		{"Start payments 3.2.0", "TASK [Start payments 3.2.0]", 83},
		{"Start payments 3.2.0", "failed on localhost: non-zero return code 3: oops", 83},
		{"Start payments 3.2.0", "PLAY RECAP", 83},
		{"Start payments 3.2.0", "localhost : ok=4 changed=2 unreachable=0 failed=1 skipped=0 rescued=1 ignored=1", 83},
	}
	if len(ups) != len(want) {
		t.Fatalf("%d updates, want %d: %+v", len(ups), len(want), ups)
	}
	for i := range want {
		if ups[i] != want[i] {
			t.Errorf("update %d\n got %+v\nwant %+v", i, ups[i], want[i])
		}
	}

	o := outcome{playbook: "/x/deploy.yml", res: runner.Result{ExitCode: 2}, tr: tr}
	const wantErr = `ansible task "Start payments 3.2.0" failed on localhost: non-zero return code 3: oops (play recap: localhost failed=1 unreachable=0)`
	if got := o.failure(); got != wantErr {
		t.Errorf("failure\n got %s\nwant %s", got, wantErr)
	}

	checks := o.checks()
	type chk struct {
		name   string
		passed bool
		msg    string
	}
	var got []chk
	for _, c := range checks {
		got = append(got, chk{c.Name, c.Passed, c.Message})
	}
	wantChecks := []chk{
		{"Write version", true, "ok on localhost"},
		{"Say [hi]", true, "hello 3.2.0"},
		{"loop", true, "failed on localhost (item a): non-zero return code 1; failed on localhost (item {'x': 1}): non-zero return code 1 (ignored)"},
		{"inner fails", true, "failed on localhost: inner boom (rescued)"},
		{"rescuer", true, "rescued"},
		{"Start payments 3.2.0", false, "failed on localhost: non-zero return code 3: oops"},
	}
	if len(got) != len(wantChecks) {
		t.Fatalf("checks %+v", got)
	}
	for i := range wantChecks {
		if got[i] != wantChecks[i] {
			t.Errorf("check %d\n got %+v\nwant %+v", i, got[i], wantChecks[i])
		}
	}
}

func TestTrackerFallbacks(t *testing.T) {
	// Unreachable, and a result whose JSON does not parse.
	tr, ups := feed(`TASK [Gathering Facts] *********
fatal: [web1]: UNREACHABLE! => {"changed": false, "msg": "Failed to connect to the host via ssh: timeout", "unreachable": true}
TASK [x] ***
fatal: [web2 -> db1]: FAILED! => not json at all

NO MORE HOSTS LEFT *************************************************************
PLAY RECAP ***
web1                  : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
web2                  : ok=0    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0`)
	if ups[len(ups)-4].message != "NO MORE HOSTS LEFT" {
		t.Errorf("updates %+v", ups)
	}
	o := outcome{playbook: "site.yml", res: runner.Result{ExitCode: 4}, tr: tr}
	if got := o.failure(); got != `ansible task "x" failed on web2 -> db1: not json at all (play recap: web1 failed=0 unreachable=1; web2 failed=1 unreachable=0)` {
		t.Errorf("failure %s", got)
	}
	if f := tr.failures[0]; !f.unreachable || f.describe() != "failed on web1: host unreachable: Failed to connect to the host via ssh: timeout" {
		t.Errorf("unreachable %+v: %s", f, f.describe())
	}

	// No task failed: the exit code and stderr speak.
	res := runner.Result{ExitCode: 4, StderrTail: []string{"ERROR! the playbook: nope.yml could not be found"}}
	o = outcome{playbook: "/w/nope.yml", res: res, tr: newTracker()}
	checks := o.checks()
	if len(checks) != 1 || checks[0].Name != "nope.yml" || checks[0].Passed || checks[0].Evidence["exit_code"] != "4" {
		t.Errorf("checks %+v", checks)
	}
	// Nothing ran, all is well.
	tr, _ = feed("TASK [deploy only] ***\nskipping: [localhost]\n")
	o = outcome{playbook: "/w/site.yml", tr: tr}
	if checks := o.checks(); len(checks) != 1 || !checks[0].Passed || checks[0].Name != "site.yml" || checks[0].Message != "no task ran" {
		t.Errorf("checks %+v", checks)
	}
}

func TestExtraVarsFileIsUnsafeYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vars.yml")
	c := config{extraVars: map[string]any{"app_user": "{{ lookup('env', 'USER') }}", "n": 3}}
	vars := map[string]any{
		"warroom_reason":  "error \"rate\" {{ 7 * 6 }} <5%>\n",
		"warroom_weights": weightsVar([]sdk.TrafficWeight{{Version: "1.5.0", Percent: 10}}),
		"warroom_step":    2,
	}
	if err := writeVars(path, c, vars); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := `{"app_user": "{{ lookup('env', 'USER') }}",
 "n": 3,
 "warroom_reason": !unsafe "error \"rate\" {{ 7 * 6 }} <5%>\n",
 "warroom_step": 2,
 "warroom_weights": [{"percent": 10, "version": !unsafe "1.5.0"}]}
`
	if string(b) != want {
		t.Errorf("vars file\n%s\nwant\n%s", b, want)
	}
}

func TestNewVersion(t *testing.T) {
	ws := []sdk.TrafficWeight{{Version: "1.5.0", Percent: 10}, {Version: "1.4.0", Percent: 90}}
	if w := newVersion(ws, "1.4.0"); w.Version != "1.4.0" || w.Percent != 90 {
		t.Errorf("journal's version: %+v", w)
	}
	if w := newVersion(ws, ""); w.Version != "1.5.0" {
		t.Errorf("first: %+v", w)
	}
}
