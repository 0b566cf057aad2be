package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func TestRollingDeployServesTheNewVersion(t *testing.T) {
	tg, dir := testTarget(t, map[string]string{"max_instances": "3"})
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling", func(r *sdk.DeployRequest) { r.Instances = 3 })
	url := proxyURL(t, dir)
	if got := hit(t, url, 30); got["1.0.0"] != 30 {
		t.Fatalf("before: %v", got)
	}

	// Requests during the rolling deploy: none may fail.
	stop := make(chan struct{})
	var failures, served atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := client.Get(url + "/")
			if err != nil {
				failures.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			served.Add(1)
			if resp.StatusCode != 200 {
				failures.Add(1)
			}
		}
	}()
	s := mustDeploy(t, tg, "k2", "1.1.0", "1.0.0", "rolling", func(r *sdk.DeployRequest) { r.Instances = 3 })
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during the rolling deploy", n, served.Load())
	}

	// Batch by batch: a new instance is healthy before an old one stops.
	var order []string
	for _, e := range s.all() {
		switch {
		case e.Phase == "healthy":
			order = append(order, "new")
		case e.Phase == "stopping":
			order = append(order, "stop")
		}
	}
	if strings.Join(order, ",") != "new,stop,new,stop,new,stop" {
		t.Errorf("rolling order %v, want a new instance healthy before each old one stops\n%s", order, s.messages())
	}
	last := s.all()[len(s.all())-1]
	if last.InstancesReady != 3 || last.InstancesTotal != 3 || last.Percent < 90 {
		t.Errorf("last event %+v", last)
	}

	if got := hit(t, url, 30); got["1.1.0"] != 30 {
		t.Errorf("after: %v", got)
	}
	svc, _ := status(t, tg)
	if len(svc.Versions) != 1 || svc.Versions[0] != (sdk.VersionStatus{Version: "1.1.0", Instances: 3, Ready: 3, Weight: 100}) || !svc.Healthy {
		t.Errorf("status %+v", svc)
	}
	if !strings.Contains(svc.Message, "proxy "+url) {
		t.Errorf("status message %q does not give the proxy %s", svc.Message, url)
	}
}

func TestCanaryWeightsSplitRequestsExactly(t *testing.T) {
	tg, dir := testTarget(t, nil)
	mustDeploy(t, tg, "k1", "3.1.0", "", "rolling")
	s := mustDeploy(t, tg, "k2", "3.2.0", "3.1.0", "canary")
	if !strings.Contains(s.messages(), "0% of the traffic") {
		t.Errorf("canary events:\n%s", s.messages())
	}
	url := proxyURL(t, dir)
	if got := hit(t, url, 40); got["3.1.0"] != 40 {
		t.Fatalf("canary at 0%%: %v", got)
	}
	for _, w := range []int{10, 25, 50} {
		setTraffic(t, tg, "k2/w"+strconv.Itoa(w), sdk.TrafficWeight{Version: "3.2.0", Percent: w}, sdk.TrafficWeight{Version: "3.1.0", Percent: 100 - w})
		got := hit(t, url, 400)
		if got["3.2.0"] != 4*w || got["3.1.0"] != 4*(100-w) {
			t.Errorf("weight %d: %v, want exactly %d/%d of 400", w, got, 4*w, 4*(100-w))
		}
		svc, _ := status(t, tg)
		if versionOf(svc, "3.2.0").Weight != w || versionOf(svc, "3.1.0").Weight != 100-w || !svc.Healthy {
			t.Errorf("status at %d%%: %+v", w, svc)
		}
	}
	// Within a version, round robin over its instances.
	backends := map[string]int{}
	for range 40 {
		resp, err := client.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		backends[resp.Header.Get(backendHeader)]++
	}
	for _, b := range []string{"3.2.0#1", "3.2.0#2", "3.1.0#1", "3.1.0#2"} {
		if backends[b] != 10 {
			t.Errorf("backends %v: want 10 each", backends)
			break
		}
	}

	// 100%: the canary won; its baseline stops.
	setTraffic(t, tg, "k2/w100", sdk.TrafficWeight{Version: "3.2.0", Percent: 100}, sdk.TrafficWeight{Version: "3.1.0", Percent: 0})
	svc, _ := status(t, tg)
	if len(svc.Versions) != 1 || svc.Versions[0].Version != "3.2.0" || svc.Versions[0].Weight != 100 {
		t.Errorf("after promotion: %+v", svc)
	}
	if got := hit(t, url, 20); got["3.2.0"] != 20 {
		t.Errorf("after promotion: %v", got)
	}
}

func TestBlueGreenSwitchAndRollbackAreInstant(t *testing.T) {
	tg, dir := testTarget(t, nil)
	// The fleet is empty: the version being replaced comes up first.
	s := mustDeploy(t, tg, "k1", "2.0.0", "1.0.0", "blue-green")
	if !strings.Contains(s.messages(), "bringing up payments 1.0.0 first") {
		t.Errorf("no baseline:\n%s", s.messages())
	}
	url := proxyURL(t, dir)
	if got := hit(t, url, 20); got["1.0.0"] != 20 {
		t.Fatalf("before the switch: %v", got)
	}
	svc, _ := status(t, tg)
	if v := versionOf(svc, "1.0.0"); v.Colour != "blue" || v.Weight != 100 || v.Ready != 2 {
		t.Errorf("live colour: %+v", svc)
	}
	if v := versionOf(svc, "2.0.0"); v.Colour != "green" || v.Weight != 0 || v.Ready != 2 {
		t.Errorf("idle colour: %+v", svc)
	}
	pidsBefore := fleetPids(tg)

	start := time.Now()
	setTraffic(t, tg, "k1/switch", sdk.TrafficWeight{Version: "2.0.0", Percent: 100})
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("the switch took %v", d)
	}
	if got := hit(t, url, 20); got["2.0.0"] != 20 {
		t.Errorf("after the switch: %v", got)
	}
	svc, _ = status(t, tg)
	if v := versionOf(svc, "1.0.0"); v.Instances != 2 || v.Weight != 0 {
		t.Errorf("the old colour must stay, idle: %+v", svc)
	}

	start = time.Now()
	rb := &sink{}
	if err := tg.Rollback(context.Background(), sdk.RollbackRequest{
		IdempotencyKey: "k1/rollback", Target: payments, ToVersion: "1.0.0", FromVersion: "2.0.0", Reason: "test",
	}, rb); err != nil {
		t.Fatalf("rollback: %v\n%s", err, rb.messages())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the rollback took %v", d)
	}
	if strings.Contains(rb.messages(), "starting") {
		t.Errorf("the rollback started instances; the old colour was there:\n%s", rb.messages())
	}
	if got := hit(t, url, 20); got["1.0.0"] != 20 {
		t.Errorf("after the rollback: %v", got)
	}
	svc, _ = status(t, tg)
	if len(svc.Versions) != 1 || svc.Versions[0].Version != "1.0.0" || svc.Versions[0].Instances != 2 {
		t.Errorf("after the rollback: %+v", svc)
	}
	for _, pid := range pidsBefore {
		if !gone(pid) && !slices.Contains(fleetPids(tg), pid) {
			t.Errorf("pid %d left behind", pid)
		}
	}

	// Next deploys: 3.0.0 comes up green beside blue 1.0.0; after its
	// switch, 4.0.0 replaces the standby colour (1.0.0 stops).
	mustDeploy(t, tg, "k3", "3.0.0", "1.0.0", "blue-green")
	setTraffic(t, tg, "k3/switch", sdk.TrafficWeight{Version: "3.0.0", Percent: 100})
	mustDeploy(t, tg, "k4", "4.0.0", "3.0.0", "blue-green")
	svc, _ = status(t, tg)
	if v := versionOf(svc, "1.0.0"); v.Instances != 0 {
		t.Errorf("the standby colour of the last deploy still runs: %+v", svc)
	}
	if a, b := versionOf(svc, "3.0.0"), versionOf(svc, "4.0.0"); a.Colour != "green" || a.Weight != 100 || b.Colour != "blue" || b.Weight != 0 {
		t.Errorf("colours: %+v", svc)
	}
}

func TestCrashOnStartFailsTheDeploy(t *testing.T) {
	tg, dir := testTarget(t, map[string]string{"faults": "payments@3.2.0=crash-on-start"})
	s, err := deploy(t, tg, "k1", "3.2.0", "3.1.0", "canary")
	want := "payments 3.2.0 instance 1 exited with status 1 before becoming healthy"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("deploy: %v, want %q\n%s", err, want, s.messages())
	}
	if sdk.CodeOf(err) != sdk.CodeInternal {
		t.Errorf("code %d, want CodeInternal: a failure, not a refusal", sdk.CodeOf(err))
	}
	if !strings.Contains(err.Error(), "crash-on-start") {
		t.Errorf("error %q does not quote the instance's stderr", err)
	}
	// The baseline keeps serving; the status says what happened.
	if got := hit(t, proxyURL(t, dir), 10); got["3.1.0"] != 10 {
		t.Errorf("after the failed deploy: %v", got)
	}
	svc, _ := status(t, tg)
	if versionOf(svc, "3.2.0").Instances != 0 || versionOf(svc, "3.1.0").Weight != 100 || !svc.Healthy ||
		!strings.Contains(svc.Message, "since the last change: payments 3.2.0 instance 1 exited with status 1 before becoming healthy") {
		t.Errorf("status %+v", svc)
	}
	// Replayed, not repeated.
	s2, err2 := deploy(t, tg, "k1", "3.2.0", "3.1.0", "canary")
	ev := s2.all()
	if err2 == nil || len(ev) != 1 || !ev[0].Done || !ev[0].Failed || !ev[0].Replayed {
		t.Errorf("replay of a failed deploy: %v %+v", err2, ev)
	}
}

func TestCrashAfterRequests(t *testing.T) {
	tg, dir := testTarget(t, map[string]string{"faults": "payments@1.0.0=crash-after=5"})
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling")
	url := proxyURL(t, dir)
	// Each instance answers 5 requests, then exits.
	if got := hit(t, url, 10); got["1.0.0"] != 10 {
		t.Errorf("the first 10 requests: %v", got)
	}
	waitFor(t, "both instances to exit", func() bool {
		svc, _ := status(t, tg)
		return len(svc.Versions) == 0
	})
	svc, _ := status(t, tg)
	if svc.Healthy || strings.Count(svc.Message, "exited with status 1") != 2 {
		t.Errorf("status after crashes: %+v", svc)
	}
	if got := hit(t, url, 3); got["code 503"] != 3 {
		t.Errorf("requests with nothing left: %v", got)
	}
}

func TestSlowStartWaitsForHealthOrTimesOut(t *testing.T) {
	tg, _ := testTarget(t, map[string]string{
		"faults":         "payments@1.0.0=slow-start=300ms; payments@2.0.0=slow-start=1m",
		"health_timeout": "1s",
	})
	start := time.Now()
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("deploy of a slow starter took %v, want it to wait for health", d)
	}
	_, err := deploy(t, tg, "k2", "2.0.0", "1.0.0", "rolling")
	if err == nil || !strings.Contains(err.Error(), "did not become healthy within 1s") {
		t.Errorf("deploy of a too slow starter: %v", err)
	}
	svc, _ := status(t, tg)
	if versionOf(svc, "1.0.0").Ready != 2 || versionOf(svc, "2.0.0").Instances != 0 {
		t.Errorf("status %+v", svc)
	}
}

func TestFaultyVersionFailsVerify(t *testing.T) {
	tg, _ := testTarget(t, map[string]string{"faults": "payments@3.2.0=error-rate=0.6,latency=5ms"})
	mustDeploy(t, tg, "k1", "3.2.0", "3.1.0", "canary")
	ctx := context.Background()
	checks, err := tg.Verify(ctx, sdk.VerifyRequest{Target: payments, Version: "3.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 || checks[0].Name != "healthy" || !checks[0].Passed || checks[1].Name != "smoke" || checks[1].Passed {
		t.Fatalf("checks of the faulty version: %+v", checks)
	}
	// 20 rounds: 20 GET / that each fail with probability 0.6 (3 or
	// more with probability 1 - 5e-6), and 20 healthy GET /healthz.
	ev := checks[1].Evidence
	if errs, _ := strconv.Atoi(ev["errors"]); ev["requests"] != "40" || errs < 3 || !strings.Contains(ev["codes"], "500:"+ev["errors"]) {
		t.Errorf("smoke evidence %v", ev)
	}
	checks, err = tg.Verify(ctx, sdk.VerifyRequest{Target: payments, Version: "3.1.0"})
	if err != nil || !checks[0].Passed || !checks[1].Passed {
		t.Errorf("checks of the good version: %v %+v", err, checks)
	}
	// Nothing of that version: failed checks, not an error.
	checks, err = tg.Verify(ctx, sdk.VerifyRequest{Target: payments, Version: "9.9.9", Checks: []string{"smoke", "nope"}})
	if err != nil || len(checks) != 2 || checks[0].Passed || !strings.Contains(checks[0].Message, "no instance of payments 9.9.9") ||
		checks[1].Passed || !strings.Contains(checks[1].Message, "unknown check") {
		t.Errorf("checks of a version not running: %v %+v", err, checks)
	}
}

func TestIdempotentReplays(t *testing.T) {
	tg, dir := testTarget(t, nil)
	ctx := context.Background()
	mustDeploy(t, tg, "run1/1/1", "3.2.0", "3.1.0", "canary")
	pids := fleetPids(tg)
	again := mustDeploy(t, tg, "run1/1/1", "3.2.0", "3.1.0", "canary")
	if ev := again.all(); len(ev) != 1 || !ev[0].Done || !ev[0].Replayed || ev[0].Failed {
		t.Errorf("replayed deploy: %+v", ev)
	}
	if got := fleetPids(tg); len(got) != len(pids) {
		t.Errorf("a replayed deploy started processes: %v, then %v", pids, got)
	}

	first := setTraffic(t, tg, "run1/1/1/w10", sdk.TrafficWeight{Version: "3.2.0", Percent: 10}, sdk.TrafficWeight{Version: "3.1.0", Percent: 90})
	// The same key with another split: the recorded split, no change.
	got := setTraffic(t, tg, "run1/1/1/w10", sdk.TrafficWeight{Version: "3.2.0", Percent: 50}, sdk.TrafficWeight{Version: "3.1.0", Percent: 50})
	if len(got) != 2 || got[0] != first[0] || got[1] != first[1] {
		t.Errorf("replayed SetTraffic answered %v, want the recorded %v", got, first)
	}
	svc, _ := status(t, tg)
	if versionOf(svc, "3.2.0").Weight != 10 {
		t.Errorf("a replayed SetTraffic changed the split: %+v", svc)
	}

	rb := func() *sink {
		s := &sink{}
		if err := tg.Rollback(ctx, sdk.RollbackRequest{IdempotencyKey: "run1/1/rb", Target: payments, ToVersion: "3.1.0", FromVersion: "3.2.0"}, s); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		return s
	}
	rb()
	// Deploy again with a new key, then repeat the rollback's key: not
	// rolled back again.
	mustDeploy(t, tg, "run1/1/2", "3.2.0", "3.1.0", "canary")
	if ev := rb().all(); len(ev) != 1 || !ev[0].Replayed {
		t.Errorf("replayed rollback: %+v", ev)
	}
	if svc, _ := status(t, tg); versionOf(svc, "3.2.0").Instances != 2 {
		t.Errorf("a replayed rollback acted: %+v", svc)
	}
	_, st := status(t, tg)
	for _, k := range []string{"run1/1/1", "run1/1/1/w10", "run1/1/rb", "run1/1/2"} {
		if !slices.Contains(st.AppliedKeys, k) {
			t.Errorf("applied keys %v lack %s", st.AppliedKeys, k)
		}
	}
	// A key used for another operation is a mistake.
	if _, err := tg.SetTraffic(ctx, sdk.SetTrafficRequest{IdempotencyKey: "run1/1/1", Target: payments,
		Weights: []sdk.TrafficWeight{{Version: "3.1.0", Percent: 100}}}); sdk.CodeOf(err) != sdk.CodeInvalid {
		t.Errorf("key reused for another operation: %v", err)
	}

	// A new plugin process on the same state dir: the fleet is empty, the
	// status says so, and the applied keys are still applied.
	closeAndCheck(t, tg)
	tg2 := configureAt(t, dir, nil)
	st2, err := tg2.Status(ctx, sdk.StatusRequest{Target: payments})
	if err != nil {
		t.Fatal(err)
	}
	if len(st2.Services) != 1 || len(st2.Services[0].Versions) != 0 || st2.Services[0].Healthy ||
		!strings.Contains(st2.Services[0].Message, "nothing runs") {
		t.Errorf("status after a restart: %+v", st2)
	}
	if !slices.Contains(st2.AppliedKeys, "run1/1/1") {
		t.Errorf("applied keys after a restart: %v", st2.AppliedKeys)
	}
	if ev := mustDeploy(t, tg2, "run1/1/1", "3.2.0", "3.1.0", "canary").all(); !ev[0].Replayed {
		t.Errorf("deploy replay after a restart: %+v", ev)
	}
	// Nothing runs: a split cannot be applied, and says why.
	_, err = tg2.SetTraffic(ctx, sdk.SetTrafficRequest{IdempotencyKey: "x", Target: payments, Weights: []sdk.TrafficWeight{{Version: "3.2.0", Percent: 100}}})
	if sdk.CodeOf(err) != sdk.CodeFailedPrecondition || !strings.Contains(err.Error(), "nothing runs") {
		t.Errorf("SetTraffic on an empty fleet: %v", err)
	}
	// The rollback brings the old version back.
	s := &sink{}
	if err := tg2.Rollback(ctx, sdk.RollbackRequest{IdempotencyKey: "run1/1/rb2", Target: payments, ToVersion: "3.1.0", FromVersion: "3.2.0"}, s); err != nil {
		t.Fatalf("rollback after a restart: %v\n%s", err, s.messages())
	}
	if got := hit(t, proxyURL(t, dir), 10); got["3.1.0"] != 10 {
		t.Errorf("after the rollback on a fresh fleet: %v", got)
	}
}

func TestStatusTellsTheTruthAfterAnInstanceIsKilled(t *testing.T) {
	tg, dir := testTarget(t, nil)
	mustDeploy(t, tg, "k1", "3.1.0", "", "rolling")
	g := tg.fleet.existing(payments)
	victim := g.runningOf("3.1.0")[1]
	if err := syscall.Kill(victim.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the status to see the kill", func() bool {
		svc, _ := status(t, tg)
		return versionOf(svc, "3.1.0").Instances == 1
	})
	svc, _ := status(t, tg)
	if v := versionOf(svc, "3.1.0"); v.Ready != 1 || v.Weight != 100 || svc.Healthy ||
		!strings.Contains(svc.Message, "instance 2") || !strings.Contains(svc.Message, "killed") {
		t.Errorf("status after a kill: %+v", svc)
	}
	// The proxy routes around the dead instance.
	if got := hit(t, proxyURL(t, dir), 20); got["3.1.0"] != 20 {
		t.Errorf("requests after a kill: %v", got)
	}
	// A process that stops answering /healthz (but runs) is not ready.
	alive := g.runningOf("3.1.0")[0]
	syscall.Kill(alive.pid, syscall.SIGSTOP)
	defer syscall.Kill(alive.pid, syscall.SIGCONT)
	waitFor(t, "the status to see a frozen instance", func() bool {
		svc, _ = status(t, tg)
		return versionOf(svc, "3.1.0").Ready == 0
	})
	if v := versionOf(svc, "3.1.0"); v.Instances != 1 || v.Weight != 0 || svc.Healthy || !strings.Contains(svc.Message, "0 of 1 instances ready") {
		t.Errorf("status with a frozen instance: %+v", svc)
	}
	syscall.Kill(alive.pid, syscall.SIGCONT)
	// The next deploy starts from what runs.
	mustDeploy(t, tg, "k2", "3.1.0", "", "rolling")
	svc, _ = status(t, tg)
	if v := versionOf(svc, "3.1.0"); v.Instances != 2 || v.Ready != 2 || !svc.Healthy {
		t.Errorf("status after redeploying: %+v", svc)
	}
}

func TestFleetCapacity(t *testing.T) {
	other := sdk.Target{Service: "cart", Environment: "prod", Region: "eu-west"}
	deployTo := func(tg *target, tgt sdk.Target, key string) error {
		s := &sink{}
		return tg.Deploy(context.Background(), sdk.DeployRequest{IdempotencyKey: key, Target: tgt, Version: "1.0.0", Instances: 2}, s)
	}
	t.Run("refused", func(t *testing.T) {
		tg, _ := testTarget(t, map[string]string{"max_processes": "3"})
		if err := deployTo(tg, payments, "a"); err != nil {
			t.Fatal(err)
		}
		err := deployTo(tg, other, "b")
		if err == nil || !strings.Contains(err.Error(), "max_processes") || sdk.CodeOf(err) != sdk.CodeFailedPrecondition {
			t.Fatalf("deploy beyond the cap: %v", err)
		}
		// Refused: the key is not failed, a repeat acts again.
		if e, _ := tg.journal.lookup("b"); e.State != keyStarted {
			t.Errorf("journal state of a refused key: %+v", e)
		}
		checks, _ := tg.Preflight(context.Background(), sdk.PreflightRequest{Target: sdk.Target{Service: "x", Environment: "prod"}, Version: "1.0.0", Strategy: "canary"})
		for _, c := range checks {
			if c.Name == "capacity" && c.Passed {
				t.Errorf("preflight capacity passed on a full fleet: %+v", c)
			}
		}
	})
	t.Run("evict idle", func(t *testing.T) {
		tg, _ := testTarget(t, map[string]string{"max_processes": "3", "evict_idle": "true"})
		if err := deployTo(tg, payments, "a"); err != nil {
			t.Fatal(err)
		}
		if err := deployTo(tg, other, "b"); err != nil {
			t.Fatal(err)
		}
		svc, _ := status(t, tg)
		if len(svc.Versions) != 0 && svc.Versions[0].Instances != 0 || !strings.Contains(svc.Message, "evict_idle") {
			t.Errorf("evicted target's status: %+v", svc)
		}
	})
}

func TestStatefulServicesDeployRolling(t *testing.T) {
	tg, _ := testTarget(t, nil)
	db := func(r *sdk.DeployRequest) { r.ServiceKind = "database" }
	if _, err := deploy(t, tg, "k1", "15.0.0", "14.0.0", "blue-green", db); sdk.CodeOf(err) != sdk.CodeInvalid {
		t.Errorf("blue-green database: %v", err)
	}
	s := mustDeploy(t, tg, "k2", "15.0.0", "14.0.0", "canary", db)
	if !strings.Contains(s.messages(), "deployed rolling") {
		t.Errorf("events:\n%s", s.messages())
	}
	svc, _ := status(t, tg)
	if len(svc.Versions) != 1 || versionOf(svc, "15.0.0").Weight != 100 || !strings.Contains(svc.Message, "last deployed rolling") {
		t.Errorf("status %+v", svc)
	}
}

func TestRequestFaultsAndInstanceCap(t *testing.T) {
	tg, dir := testTarget(t, map[string]string{"faults": "payments@1.0.1=latency=1s"})
	s := mustDeploy(t, tg, "k1", "1.0.0", "", "rolling", func(r *sdk.DeployRequest) {
		r.Instances = 12
		r.Settings = map[string]string{"fault.error-rate": "1", "engine": "postgresql"}
	})
	if !strings.Contains(s.messages(), "12 instances asked for; the local fleet runs 4") || !strings.Contains(s.messages(), "error-rate=1") ||
		!strings.Contains(s.messages(), "warning: faults are configured for payments 1.0.1, which this deploy does not run (it deploys 1.0.0)") {
		t.Errorf("events:\n%s", s.messages())
	}
	if got := hit(t, proxyURL(t, dir), 10); got["code 500"] != 10 {
		t.Errorf("requests to a version with error-rate=1: %v", got)
	}
	if _, err := deploy(t, tg, "k2", "1.0.0", "", "rolling", func(r *sdk.DeployRequest) {
		r.Settings = map[string]string{"fault.explode": "yes"}
	}); sdk.CodeOf(err) != sdk.CodeInvalid {
		t.Errorf("unknown fault: %v", err)
	}
}

func TestFaultsFileIsReadAtEveryStart(t *testing.T) {
	tg, dir := testTarget(t, map[string]string{"faults_file": "faults.txt"})
	path := filepath.Join(dir, "faults.txt")
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling")
	if err := os.WriteFile(path, []byte("# made bad during the demo\npayments@2.0.0 = crash-on-start\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := deploy(t, tg, "k2", "2.0.0", "1.0.0", "rolling"); err == nil || !strings.Contains(err.Error(), "crash-on-start") {
		t.Errorf("deploy after the faults file changed: %v", err)
	}
}

func TestTrafficGeneratorFeedsTheMetrics(t *testing.T) {
	tg, _ := testTarget(t, map[string]string{"traffic_rps": "100"})
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling")
	in := tg.fleet.existing(payments).runningOf("1.0.0")[0]
	waitFor(t, "generated traffic in the metrics", func() bool {
		resp, err := http.Get("http://" + in.addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, `requests_total{service="payments",version="1.0.0",code="200"} `) {
				n := strings.TrimSpace(strings.TrimPrefix(line, `requests_total{service="payments",version="1.0.0",code="200"} `))
				return len(n) >= 2 // at least 10
			}
		}
		return false
	})
}

func TestLockOnePluginPerStateDir(t *testing.T) {
	_, dir := testTarget(t, nil)
	second := newTarget(nil)
	err := second.Configure(context.Background(), sdk.Config{StateDir: dir, Settings: map[string]string{"service_binary": demoBin}})
	if err == nil || !strings.Contains(err.Error(), "another warroom process (pid ") || !strings.Contains(err.Error(), "runs this local fleet") {
		t.Fatalf("second Configure on one state dir: %v", err)
	}
	if sdk.CodeOf(err) != sdk.CodeFailedPrecondition {
		t.Errorf("code %d", sdk.CodeOf(err))
	}
}

func TestEndpointsFileFollowsTheProxies(t *testing.T) {
	tg, dir := testTarget(t, nil)
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling")
	url := proxyURL(t, dir)
	svc, _ := status(t, tg)
	if !strings.HasPrefix(svc.Message, "proxy "+url+";") {
		t.Errorf("status message %q, endpoints %s", svc.Message, url)
	}
	closeAndCheck(t, tg)
	b, _ := os.ReadFile(filepath.Join(dir, endpointsFile))
	if strings.TrimSpace(string(b)) != "{}" {
		t.Errorf("endpoints.json after the fleet stopped: %s", b)
	}
	// A new fleet listens on the same port when it is free.
	tg2 := configureAt(t, dir, nil)
	mustDeploy(t, tg2, "k2", "1.0.0", "", "rolling")
	if got := proxyURL(t, dir); got != url {
		t.Errorf("proxy moved from %s to %s; the port was free", url, got)
	}
}

// scrape-targets.json lists every running instance's /metrics by target
// and version, so a scrape monitoring source can compare the versions.
func TestScrapeTargetsFollowTheInstances(t *testing.T) {
	tg, dir := testTarget(t, map[string]string{"max_instances": "2"})
	mustDeploy(t, tg, "k1", "1.0.0", "", "rolling", func(r *sdk.DeployRequest) { r.Instances = 2 })
	mustDeploy(t, tg, "k2", "1.1.0", "1.0.0", "canary", func(r *sdk.DeployRequest) { r.Instances = 1 })
	b, err := os.ReadFile(filepath.Join(dir, metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var targets map[string][]string
	if err := json.Unmarshal(b, &targets); err != nil {
		t.Fatal(err)
	}
	var old, canary []string
	for k, urls := range targets {
		switch {
		case strings.HasSuffix(k, "@1.0.0"):
			old = urls
		case strings.HasSuffix(k, "@1.1.0"):
			canary = urls
		}
	}
	if len(old) != 2 || len(canary) != 1 {
		t.Fatalf("scrape targets: %s", b)
	}
	resp, err := client.Get(canary[0])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "process_") {
		t.Errorf("%s is not a metrics endpoint: %d\n%.300s", canary[0], resp.StatusCode, body)
	}
	if slices.Contains(old, canary[0]) {
		t.Errorf("the canary's instance is listed under the old version too: %s", b)
	}
}
