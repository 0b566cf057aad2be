package host_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/host"
)

// helperEnv makes the test binary a stand-in for warroom: it launches a
// plugin, prints its pid and waits to be killed.
const helperEnv = "WARROOM_HOST_TEST_HELPER"

func helperMain() {
	path := os.Getenv(helperEnv)
	p, err := host.Launch(context.Background(), path, host.LaunchOptions{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(p.PID())
	for {
		time.Sleep(time.Hour)
	}
}

// TestPluginDiesWithWarroom: a plugin does not outlive warroom even when
// warroom is killed with SIGKILL and cleans up nothing.
func TestPluginDiesWithWarroom(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"="+bin("okplugin"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d is not running", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitFor(t, 5*time.Second, fmt.Sprintf("plugin %d to die with its host", pid), func() bool { return !alive(pid) })
}
