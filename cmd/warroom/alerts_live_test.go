package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// A firing alert in Alertmanager about the service in the step's
// environment rolls the run back during the bake: a real
// prometheus-alertmanager, the prometheus plugin asked for alerts, the
// local fleet deploying.
func TestFiringAlertRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus-alertmanager and deploys on real processes")
	}
	amBin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if isCI() {
			t.Fatalf("prometheus-alertmanager not installed (CI=true; scripts/setup installs it): %v", err)
		}
		t.Skip("prometheus-alertmanager not installed")
	}
	bin := fleetLayout(t)
	fleet := filepath.Join(filepath.Dir(bin), "plugins", "localfleet")
	prom := pluginLayout(t, "prometheus")
	dir := t.TempDir()

	// Alertmanager on a free port, with the alert already firing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	amCfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(amCfg, []byte("route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	am := exec.Command(amBin, "--config.file="+amCfg, "--storage.path="+filepath.Join(dir, "am"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	if err := am.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { am.Process.Kill(); am.Wait() })
	amURL := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(amURL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a server with a deadline
	}
	starts := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	alerts := fmt.Sprintf(`[{"labels":{"alertname":"ApiErrorBudgetBurn","service":"api","env":"dev","severity":"critical"},"startsAt":%q},
{"labels":{"alertname":"ProdOnly","service":"api","env":"prod"},"startsAt":%q}]`, starts, starts)
	resp, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(alerts))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST alerts: %s", resp.Status)
	}

	now := time.Now().UTC()
	spec := fmt.Sprintf(`teams:
  - name: payments
    escalation: [{name: Ana, email: ana@example.com}]
services:
  - name: api
    owner: payments
    tier: 1
    version: 1.0.0
    deploy: {target: localfleet, strategy: rolling, bake_time: 30m, instances: 1}
environments:
  - name: dev
    order: 1
releases:
  - name: r
    window: {start: %q, end: %q}
    scope: [{service: api, version: 2.0.0}]
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "org.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`plugins:
  - name: localfleet
    path: %s
    kinds: [deploy-target]
  - name: prometheus
    path: %s
    kinds: [monitoring-source]
    settings: {url: "http://127.0.0.1:1", alertmanager_url: %q}
`, fleet, prom, amURL)
	if err := os.WriteFile(filepath.Join(dir, "plugins.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, db: filepath.Join(dir, "warroom.db")}
	c.ok("apply", "-f", filepath.Join(dir, "org.yaml"))
	// Without the alert the bake would last 30 minutes: a deadline turns
	// that into a failure, not a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--db", c.db, "--plugins", filepath.Join(dir, "plugins.yaml"), "deploy", "start", "r", "--follow")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	out, _ := cmd.CombinedOutput()
	var run deploy.Run
	c.json(&run, "deploy", "status")
	// A 30-minute bake ends only by the alert.
	if run.State != deploy.RunRolledBack || !strings.Contains(run.Reason, "alert firing: ApiErrorBudgetBurn") ||
		strings.Contains(run.Reason, "ProdOnly") {
		t.Fatalf("run %s: %s\n%s", run.State, run.Reason, out)
	}
	t.Logf("%s", run.Reason)
}
