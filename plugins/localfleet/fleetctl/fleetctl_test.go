package fleetctl

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// fake is a supervisor of the protocol, in-process: it holds the lock
// and answers on the socket.
func fake(t *testing.T, dir string, h http.Handler) (release func()) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	f.WriteString("supervisor_pid=424242\n")
	ln, err := net.Listen("unix", filepath.Join(dir, SocketFile))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	var once sync.Once
	release = func() {
		once.Do(func() {
			srv.Close()
			f.Close()
		})
	}
	t.Cleanup(release)
	return release
}

func line(w http.ResponseWriter, env Envelope) {
	b, _ := json.Marshal(env)
	w.Write(append(b, '\n'))
	w.(http.Flusher).Flush()
}

func TestNoSupervisor(t *testing.T) {
	dir := t.TempDir()
	if Running(dir) {
		t.Error("Running with no supervisor")
	}
	_, err := New(dir).Hello(context.Background())
	if !errors.Is(err, ErrNotRunning) {
		t.Errorf("hello: %v, want ErrNotRunning", err)
	}
	st, err := Stop(context.Background(), dir)
	if err != nil || st != (Stopped{}) {
		t.Errorf("stop with no supervisor: %+v %v", st, err)
	}
	if st, err := StopUndriven(context.Background(), dir, os.Getpid()); err != nil || st != (Stopped{}) {
		t.Errorf("StopUndriven with nothing ever run: %+v %v", st, err)
	}
}

func TestAnswersErrorsAndStreams(t *testing.T) {
	dir := t.TempDir()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/hello", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(Hello{Protocol: Protocol, PID: 424242, Processes: 3})
		line(w, Envelope{Result: b})
	})
	mux.HandleFunc("POST /v1/status", func(w http.ResponseWriter, r *http.Request) {
		line(w, Envelope{Error: &WireError{Code: sdk.CodeFailedPrecondition, Message: "localfleet: not configured yet"}})
	})
	mux.HandleFunc("POST /v1/deploy", func(w http.ResponseWriter, r *http.Request) {
		var req sdk.DeployRequest
		json.NewDecoder(r.Body).Decode(&req)
		line(w, Envelope{Event: &sdk.DeployEvent{Phase: "plan", Message: "deploying " + req.Version}})
		line(w, Envelope{Event: &sdk.DeployEvent{Phase: "starting"}})
		// and the supervisor dies: no outcome
	})
	mux.HandleFunc("POST /v1/rollback", func(w http.ResponseWriter, r *http.Request) {
		line(w, Envelope{Event: &sdk.DeployEvent{Phase: "rollback"}})
		line(w, Envelope{Result: json.RawMessage("{}")})
	})
	fake(t, dir, mux)
	ctx := context.Background()
	c := New(dir)
	if !Running(dir) {
		t.Error("not Running while the fake holds the lock")
	}
	h, err := c.Hello(ctx)
	if err != nil || h.PID != 424242 || h.Processes != 3 {
		t.Errorf("hello: %+v %v", h, err)
	}
	err = c.Call(ctx, "status", sdk.StatusRequest{}, &sdk.Status{})
	var se *sdk.Error
	if !errors.As(err, &se) || se.Code != sdk.CodeFailedPrecondition || se.Message != "localfleet: not configured yet" {
		t.Errorf("an answered error: %#v", err)
	}
	var got []string
	err = c.Stream(ctx, "deploy", sdk.DeployRequest{Version: "3.2.0"}, func(ev sdk.DeployEvent) error {
		got = append(got, ev.Phase+":"+ev.Message)
		return nil
	})
	if len(got) != 2 || got[0] != "plan:deploying 3.2.0" || err == nil || errors.As(err, &se) {
		t.Errorf("a stream cut before its outcome: events %v, err %v", got, err)
	}
	sinkErr := errors.New("warroom went away")
	err = c.Stream(ctx, "rollback", sdk.RollbackRequest{}, func(sdk.DeployEvent) error { return sinkErr })
	var sk *SinkError
	if !errors.As(err, &sk) || !errors.Is(err, sinkErr) {
		t.Errorf("a failing sink: %v", err)
	}
	if err := c.Stream(ctx, "rollback", sdk.RollbackRequest{}, func(sdk.DeployEvent) error { return nil }); err != nil {
		t.Errorf("a stream with an outcome: %v", err)
	}
}

// TestStopWaitsForTheLock: Stop returns only once the supervisor has
// let its lock go, and StopUndriven leaves a fleet another warroom
// drives alone.
func TestStopWaitsForTheLock(t *testing.T) {
	dir := t.TempDir()
	// The supervisor's pid: one that has exited.
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	var release func()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/shutdown", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(Stopped{PID: exited.Process.Pid, Processes: 4, Proxies: 1})
		line(w, Envelope{Result: b})
		go func() {
			time.Sleep(50 * time.Millisecond) // the supervisor winding down after its answer
			release()
		}()
	})
	release = fake(t, dir, mux)

	// Another warroom's plugin holds the fleet lock.
	other := filepath.Join(dir, FleetLockFile)
	f, err := os.OpenFile(other, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("warroom_pid=1\nplugin_pid=2\n")
	// A second open file description: flock conflicts between them.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := StopUndriven(context.Background(), dir, os.Getpid()); !errors.Is(err, ErrDriven) {
		t.Errorf("StopUndriven of a fleet another warroom drives: %v", err)
	}
	f.Close()

	st, err := StopUndriven(context.Background(), dir, os.Getpid())
	if err != nil || st.Processes != 4 || st.Proxies != 1 {
		t.Fatalf("stop: %+v %v", st, err)
	}
	if Running(dir) {
		t.Error("Stop returned while the supervisor still held its lock")
	}
}
