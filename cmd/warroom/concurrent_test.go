package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// Two warroom processes applying specs to one database at the same time
// both end well, or one gets a clear busy error; the objects and the audit
// chain stay consistent.
func TestConcurrentApplyFromTwoProcesses(t *testing.T) {
	c := newCLI(t)
	c.ok("apply", "-f", openDemo(t))

	dir := t.TempDir()
	// Each process applies its own series of specs: new services owned
	// by a demo team, so every apply changes something and is audited.
	var org struct{ Services []model.Service }
	c.json(&org.Services, "service", "list")
	owner := org.Services[0].Owner
	const rounds = 8
	for p := 0; p < 2; p++ {
		for i := 0; i < rounds; i++ {
			spec := fmt.Sprintf("services:\n  - name: load-%d-%d\n    owner: %s\n    tier: 3\n    version: 1.0.%d\n", p, i, owner, i)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%d-%02d.yaml", p, i)), []byte(spec), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	results := make([][]string, 2)
	busy := make([]int, 2)
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				cmd := exec.Command(warroomBin, "--db", c.db, "--as", fmt.Sprintf("proc-%d", p), "apply", "-f", filepath.Join(dir, fmt.Sprintf("p%d-%02d.yaml", p, i)))
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				err := cmd.Run()
				switch {
				case err == nil:
					results[p] = append(results[p], fmt.Sprintf("load-%d-%d", p, i))
				case strings.Contains(errb.String(), "busy"):
					busy[p]++
				default:
					t.Errorf("process %d apply %d: %v\n%s%s", p, i, err, out.String(), errb.String())
				}
			}
		}(p)
	}
	wg.Wait()

	var services []model.Service
	c.json(&services, "service", "list")
	have := map[string]bool{}
	for _, s := range services {
		have[s.Name] = true
	}
	applied := 0
	for p := range results {
		for _, name := range results[p] {
			applied++
			if !have[name] {
				t.Errorf("apply of %s succeeded but the service is missing", name)
			}
		}
	}
	var events []model.AuditEvent
	c.json(&events, "audit", "list")
	if len(events) != 1+applied {
		t.Errorf("%d audit events, want %d (1 demo apply + %d concurrent)", len(events), 1+applied, applied)
	}
	if out := c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("audit verify: %s", out)
	}
	t.Logf("%d applies succeeded, %d busy", applied, busy[0]+busy[1])
}
