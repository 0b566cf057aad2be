package host_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// TestNothingOnStdio: nothing of a plugin, of go-plugin or of gRPC reaches
// warroom's stdout or stderr, which are the console's screen; it all goes
// to the log writer. The file descriptors themselves are redirected, so
// writes that bypass os.Stdout and os.Stderr are caught too.
func TestNothingOnStdio(t *testing.T) {
	ctx := context.Background()
	pc := plugin("okplugin", allKinds...)
	pc.Settings = map[string]string{"greeting": "loud"}
	h, logs := newHost(t, host.Options{}, pc, plugin("crashplugin"))

	restore := captureStdio(t)
	dt, _ := h.DeployTarget(ctx, "okplugin")
	_, err1 := dt.Describe(ctx)
	crash, _ := h.DeployTarget(ctx, "crashplugin")
	_, err2 := crash.Preflight(ctx, sdk.PreflightRequest{})
	h.Close()
	got := restore()

	if err1 != nil || host.FaultOf(err2) != host.FaultCrashed {
		t.Fatalf("calls: %v, %v", err1, err2)
	}
	if got != "" {
		t.Errorf("written to stdout or stderr:\n%s", got)
	}
	if !bytes.Contains([]byte(logs.String()), []byte(`configured with "loud"`)) {
		t.Errorf("the plugin's output is not in the log:\n%s", logs)
	}
}

// captureStdio points file descriptors 1 and 2 at a pipe until the
// returned function restores them and returns what was written.
func captureStdio(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := make([]int, 3)
	for _, fd := range []int{1, 2} {
		if saved[fd], err = syscall.Dup(fd); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Dup3(int(w.Fd()), fd, 0); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&buf, r); close(done) }()
	return func() string {
		for _, fd := range []int{1, 2} {
			syscall.Dup3(saved[fd], fd, 0)
			syscall.Close(saved[fd])
		}
		w.Close()
		<-done
		r.Close()
		return buf.String()
	}
}
