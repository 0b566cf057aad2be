package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(script string) Command {
	return Command{Name: "test command", Path: "/bin/sh", Args: []string{"-c", script},
		Env: Environ("/", nil), Timeout: 10 * time.Second, KillGrace: 300 * time.Millisecond}
}

func TestRunStreamsLinesAndQuotesStderr(t *testing.T) {
	var lines []string
	c := sh(`echo one; printf 'two\r\n'; echo oops >&2; printf 'tail'; exit 3`)
	c.OnLine = func(l string) { lines = append(lines, l) }
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, "|") != "one|two|tail" || res.LastLine != "tail" {
		t.Errorf("lines %q, last %q", lines, res.LastLine)
	}
	if res.OK() || res.Failure() != "test command exited with code 3; last stderr lines:\noops" {
		t.Errorf("failure %q", res.Failure())
	}
}

func TestRunEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("RUNNER_TEST_LEAK", "x")
	c := sh(`env`)
	c.Env = Environ("/nowhere", map[string]string{"EXTRA": "1"})
	c.KeepStdout = true
	res, err := Run(context.Background(), c)
	if err != nil || !res.OK() {
		t.Fatal(err, res.Failure())
	}
	out := string(res.Stdout)
	for _, want := range []string{"PATH=" + MinimalPath + "\n", "LANG=C.UTF-8\n", "EXTRA=1\n", "HOME=" + os.Getenv("HOME") + "\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("env lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "RUNNER_TEST_LEAK") {
		t.Error("the host's environment leaked")
	}
}

func TestRunTimeoutAndCancelKillTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	script := `sh -c 'trap "" TERM; exec sleep 60' & echo $! > ` + pidFile + `; sleep 60`
	c := sh(script)
	c.Timeout = 300 * time.Millisecond
	res, err := Run(context.Background(), c)
	if err != nil || !res.TimedOut || !strings.Contains(res.Failure(), "timed out after 300ms and its process group was killed") {
		t.Fatalf("res %+v err %v", res, err)
	}
	waitGone(t, pidFile)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err = Run(ctx, sh(script))
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err %v", err)
	}
	waitGone(t, pidFile)
}

func waitGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil ||
			strings.Contains(string(stat), ") Z ") {
			return // a zombie waits only for its reaper
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d outlived the kill", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Remove(pidFile)
}
