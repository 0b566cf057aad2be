package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Reading the default stdout callback's output, which the plugin forces
// with ANSIBLE_STDOUT_CALLBACK=default and one-line JSON results:
//
//	PLAY [Deploy payments] *********************************************
//	TASK [Start payments 3.2.0] ****************************************
//	changed: [localhost]
//	ok: [web1] => {"msg": "..."}
//	fatal: [localhost]: FAILED! => {"changed": false, "msg": "..."}
//	failed: [localhost] (item=a) => {"msg": "..."}
//	...ignoring
//	PLAY RECAP *********************************************************
//	localhost : ok=3 changed=1 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0

const maxMessage = 2000 // bytes of a message taken from ansible's output

var (
	bannerRE = regexp.MustCompile(`^(PLAY|TASK|RUNNING HANDLER|CLEANUP TASK) \[(.*)\] \*{3,}$`)
	resultRE = regexp.MustCompile(`^(ok|changed|skipping|fatal|failed): \[([^\]]+)\](.*)$`)
	starsRE  = regexp.MustCompile(`^(.*\S) \*{3,}$`)
	recapRE  = regexp.MustCompile(`^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)`)
)

// task is one task (or handler) as the output showed it.
type task struct {
	name           string
	started, ended time.Time
	ran            bool     // a host reported ok, changed or failed
	hosts          []string // hosts that reported ok or changed, in order
	lastMsg        string   // the msg of the last ok or changed result, if any
}

// failure is a failed result of a task on a host.
type failure struct {
	task        *task
	host        string // the host label, "web1" or "web1 -> db1" when delegated
	item        string // the loop item's label, if any
	msg         string
	unreachable bool
	ignored     bool // ignore_errors: the play went on
	rescued     bool // the host went on to later tasks: a rescue block caught it
}

func (f *failure) hostName() string {
	h, _, _ := strings.Cut(f.host, " -> ")
	return h
}

// describe is the failure in a sentence's tail: "failed on HOST: MSG".
func (f *failure) describe() string {
	on := f.host
	if f.item != "" {
		on += " (item " + f.item + ")"
	}
	if f.unreachable {
		return fmt.Sprintf("failed on %s: host unreachable: %s", on, f.msg)
	}
	return fmt.Sprintf("failed on %s: %s", on, f.msg)
}

// recapLine is one host's line of the PLAY RECAP.
type recapLine struct {
	host                                                        string
	ok, changed, unreachable, failed, skipped, rescued, ignored int
}

// tracker follows one run's output line by line. It is fed from one
// goroutine and read once the run has ended.
type tracker struct {
	now      func() time.Time
	tasks    []*task
	failures []*failure
	recap    []recapLine
	inRecap  bool
	percent  int
}

func newTracker() *tracker { return &tracker{now: time.Now} }

// update is what one line of output means for progress.
type update struct {
	task    string // the task running; "" before the first
	message string
	percent int
}

func (t *tracker) current() *task {
	if len(t.tasks) == 0 {
		return nil
	}
	return t.tasks[len(t.tasks)-1]
}

// line reads one line of output; ok is false for a line not worth an
// event (a blank one).
func (t *tracker) line(s string) (u update, ok bool) {
	s = strings.TrimRight(s, " ")
	if strings.TrimSpace(s) == "" {
		return update{}, false
	}
	msg := s
	if m := starsRE.FindStringSubmatch(s); m != nil { // any banner: PLAY without a name, NO MORE HOSTS LEFT...
		msg = m[1]
	}
	if m := bannerRE.FindStringSubmatch(s); m != nil {
		kind, name := m[1], m[2]
		now := t.now()
		if cur := t.current(); cur != nil && cur.ended.IsZero() {
			cur.ended = now
		}
		t.inRecap = false
		switch kind {
		case "PLAY":
			msg = fmt.Sprintf("PLAY [%s]", name)
		default:
			t.tasks = append(t.tasks, &task{name: name, started: now})
			n := len(t.tasks)
			t.percent = 100 * (n - 1) / n
			msg = fmt.Sprintf("%s [%s]", kind, name)
		}
	} else if strings.HasPrefix(s, "PLAY RECAP *") {
		if cur := t.current(); cur != nil && cur.ended.IsZero() {
			cur.ended = t.now()
		}
		t.inRecap = true
		msg = "PLAY RECAP"
	} else if m := resultRE.FindStringSubmatch(s); m != nil {
		msg = t.result(m[1], m[2], m[3], s)
	} else if s == "...ignoring" {
		if n := len(t.failures); n > 0 {
			t.failures[n-1].ignored = true
		}
	} else if m := recapRE.FindStringSubmatch(s); m != nil && t.inRecap {
		r := recapLine{host: m[1]}
		for i, p := range []*int{&r.ok, &r.changed, &r.unreachable, &r.failed, &r.skipped, &r.rescued, &r.ignored} {
			*p, _ = strconv.Atoi(m[i+2])
		}
		t.recap = append(t.recap, r)
		msg = strings.Join(strings.Fields(s), " ")
	}
	u = update{message: clip(msg), percent: t.percent}
	if cur := t.current(); cur != nil {
		u.task = cur.name
	}
	return u, true
}

// result reads an ok, changed, skipping, fatal or failed line and
// returns the message to show.
func (t *tracker) result(status, host, rest, line string) string {
	cur := t.current()
	if cur == nil { // a result before any task banner: not the default callback's
		return line
	}
	name, _, _ := strings.Cut(host, " -> ")
	if status != "skipping" {
		// A host that goes on after a failure in an earlier task was
		// rescued; a failed host leaves the play.
		for _, f := range t.failures {
			if f.hostName() == name && f.task != cur && !f.ignored {
				f.rescued = true
			}
		}
	}
	result, item := splitResult(rest)
	switch status {
	case "ok", "changed":
		cur.ran = true
		cur.hosts = append(cur.hosts, host)
		if m, ok := result["msg"].(string); ok && m != "" {
			cur.lastMsg = clip(m)
		}
		return line
	case "skipping":
		return line
	}
	cur.ran = true
	f := &failure{task: cur, host: host, item: item, unreachable: strings.HasPrefix(rest, ": UNREACHABLE!")}
	if result != nil {
		f.msg = resultMessage(result)
	} else if _, after, ok := strings.Cut(rest, " => "); ok {
		f.msg = clip(after)
	} else {
		f.msg = clip(strings.TrimSpace(rest))
	}
	t.failures = append(t.failures, f)
	return f.describe()
}

// splitResult finds the JSON result and the loop item's label in what
// follows "[host]" on a result line: "", ": FAILED! => {...}",
// " (item=x) => {...}", " => (item=x)".
func splitResult(rest string) (result map[string]any, item string) {
	prefix := rest
	for off := 0; ; off += len(" => {") {
		i := strings.Index(rest[off:], " => {")
		if i < 0 {
			break
		}
		off += i
		var m map[string]any
		if json.Unmarshal([]byte(rest[off+len(" => "):]), &m) == nil {
			result, prefix = m, rest[:off]
			break
		}
	}
	if i := strings.Index(prefix, "(item="); i >= 0 {
		item = prefix[i+len("(item="):]
		if j := strings.LastIndex(item, ")"); j >= 0 {
			item = item[:j]
		}
	}
	return result, item
}

// resultMessage says why a task failed, from its JSON result: the msg,
// with a command's exit code and stderr (or a module's own stderr).
func resultMessage(r map[string]any) string {
	msg, _ := r["msg"].(string)
	if rc, ok := r["rc"].(float64); ok && msg == "non-zero return code" {
		msg = fmt.Sprintf("non-zero return code %d", int(rc))
	}
	for _, k := range []string{"stderr", "module_stderr"} {
		if s, _ := r[k].(string); strings.TrimSpace(s) != "" {
			s = strings.TrimSpace(s)
			if len(s) > maxMessage/2 {
				s = "..." + s[len(s)-maxMessage/2:]
			}
			if msg == "" {
				msg = s
			} else {
				msg += ": " + s
			}
			break
		}
	}
	if msg == "" {
		b, _ := json.Marshal(r)
		msg = string(b)
	}
	return clip(msg)
}

func clip(s string) string {
	if len(s) > maxMessage {
		return s[:maxMessage] + "..."
	}
	return s
}

// final returns the failure that failed the run: the last one neither
// ignored nor rescued.
func (t *tracker) final() *failure {
	for i := len(t.failures) - 1; i >= 0; i-- {
		if f := t.failures[i]; !f.ignored && !f.rescued {
			return f
		}
	}
	return nil
}

// recapSummary gives the failed and unreachable counts of the hosts that
// have any: "localhost failed=1 unreachable=0".
func (t *tracker) recapSummary() string {
	var parts []string
	for _, r := range t.recap {
		if r.failed > 0 || r.unreachable > 0 {
			parts = append(parts, fmt.Sprintf("%s failed=%d unreachable=%d", r.host, r.failed, r.unreachable))
		}
	}
	return strings.Join(parts, "; ")
}

// failuresOf splits one task's failures into those that failed the run
// and those ignored or rescued.
func (t *tracker) failuresOf(tk *task) (failed, tolerated []*failure) {
	for _, f := range t.failures {
		if f.task != tk {
			continue
		}
		if f.ignored || f.rescued {
			tolerated = append(tolerated, f)
		} else {
			failed = append(failed, f)
		}
	}
	return failed, tolerated
}
