package host_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

func TestChecksum(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("warroom"), 0o644)
	sum := sha256.Sum256([]byte("warroom"))
	if got, err := host.Checksum(path); err != nil || got != hex.EncodeToString(sum[:]) {
		t.Errorf("Checksum = %s, %v", got, err)
	}
	if _, err := host.Checksum(path + ".missing"); err == nil {
		t.Error("Checksum of a missing file succeeded")
	}
}

// flipLastByte changes the binary by one byte.
func flipLastByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// describe makes the first call to plugin name, which starts it.
func describe(t *testing.T, h *host.Host, name string) error {
	t.Helper()
	dt, err := h.DeployTarget(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dt.Describe(context.Background())
	return err
}

func TestTrustedByStore(t *testing.T) {
	path := copyBin(t, "okplugin")
	sum, _ := host.Checksum(path)
	h, _ := newHost(t, host.Options{Trust: fakeTrust{"ok": {strings.Repeat("0", 64), sum}}},
		host.PluginConfig{Name: "ok", Path: path, Kinds: []sdk.Kind{sdk.KindDeployTarget}})
	if err := describe(t, h, "ok"); err != nil {
		t.Fatal(err)
	}
	if st := h.List(context.Background())[0]; !st.Trusted || st.TrustSource != host.TrustDatabase || !st.Healthy {
		t.Errorf("List = %+v", st)
	}
}

func TestUntrustedRefused(t *testing.T) {
	path := copyBin(t, "okplugin") // no SHA256SUMS next to it
	sum, _ := host.Checksum(path)
	h, _ := newHost(t, host.Options{Trust: fakeTrust{"other": {sum}}},
		host.PluginConfig{Name: "ok", Path: path, Kinds: []sdk.Kind{sdk.KindDeployTarget}})
	err := describe(t, h, "ok")
	wantFault(t, err, "ok", "Describe", host.FaultUntrusted)
	want := fmt.Sprintf("plugin ok is not trusted: %s has sha256 %s…; after checking the binary, run: warroom plugins trust ok", path, sum[:12])
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant:\n%s", err, want)
	}
	var te *host.TrustError
	if !errors.As(err, &te) || te.Changed() || te.SHA256 != sum || !errors.Is(err, host.ErrUntrusted) {
		t.Errorf("TrustError: %+v", te)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("an untrusted binary was started: %v", kids)
	}
	st := h.List(context.Background())[0]
	if st.Trusted || st.Healthy || st.Running || st.SHA256 != sum || st.Fault != host.FaultUntrusted || st.LastError != want {
		t.Errorf("List = %+v", st)
	}
}

// TestChangedBinaryRefused: a binary changed by one byte after it was
// trusted is refused before it runs, with how to trust it again.
func TestChangedBinaryRefused(t *testing.T) {
	for _, how := range []string{host.TrustDatabase, host.TrustBuild} {
		path := copyBin(t, "okplugin")
		trusted, _ := host.Checksum(path)
		opts := host.Options{}
		if how == host.TrustDatabase {
			opts.Trust = fakeTrust{"ok": {trusted}}
		} else {
			sums := fmt.Sprintf("%s  okplugin\n", trusted)
			os.WriteFile(filepath.Join(filepath.Dir(path), host.BuildSumsFile), []byte(sums), 0o644)
		}
		h, _ := newHost(t, opts, host.PluginConfig{Name: "ok", Path: path, Kinds: []sdk.Kind{sdk.KindDeployTarget}})
		if err := describe(t, h, "ok"); err != nil {
			t.Fatalf("%s: trusted binary: %v", how, err)
		}
		h.Close()

		flipLastByte(t, path)
		now, _ := host.Checksum(path)
		h, _ = newHost(t, opts, host.PluginConfig{Name: "ok", Path: path, Kinds: []sdk.Kind{sdk.KindDeployTarget}})
		err := describe(t, h, "ok")
		wantFault(t, err, "ok", "Describe", host.FaultUntrusted)
		want := fmt.Sprintf("plugin ok: %s changed since it was trusted (trusted sha256 %s…, now %s…); if you rebuilt it on purpose, run: warroom plugins trust ok",
			path, trusted[:12], now[:12])
		if err.Error() != want {
			t.Errorf("%s: message:\n%s\nwant:\n%s", how, err, want)
		}
		var te *host.TrustError
		if !errors.As(err, &te) || !te.Changed() || te.Source != how {
			t.Errorf("%s: TrustError %+v", how, te)
		}
		if kids := children(t); len(kids) > 0 {
			t.Errorf("%s: the changed binary was started: %v", how, kids)
		}
	}
}

// TestBuildSumsWritableByOthersIgnored: a SHA256SUMS anyone may edit
// trusts nothing.
func TestBuildSumsWritableByOthersIgnored(t *testing.T) {
	path := copyBin(t, "okplugin")
	sum, _ := host.Checksum(path)
	sums := filepath.Join(filepath.Dir(path), host.BuildSumsFile)
	os.WriteFile(sums, []byte(sum+" *okplugin\n"), 0o644)
	os.Chmod(sums, 0o666)
	h, _ := newHost(t, host.Options{}, host.PluginConfig{Name: "ok", Path: path, Kinds: []sdk.Kind{sdk.KindDeployTarget}})
	wantFault(t, describe(t, h, "ok"), "ok", "Describe", host.FaultUntrusted)

	os.Chmod(sums, 0o644) // binary mode ("*name") is understood too
	if err := describe(t, h, "ok"); err != nil {
		t.Errorf("trusted by SHA256SUMS: %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	h, _ := newHost(t, host.Options{}, host.PluginConfig{Name: "nope", Path: path, Kinds: []sdk.Kind{sdk.KindDeployTarget}})
	err := describe(t, h, "nope")
	wantFault(t, err, "nope", "Describe", host.FaultHandshake)
	if !strings.Contains(err.Error(), path+" does not exist") {
		t.Errorf("missing binary: %v", err)
	}
	if st := h.List(context.Background())[0]; st.Healthy || st.Trusted || !strings.Contains(st.LastError, "does not exist") {
		t.Errorf("List = %+v", st)
	}
}
