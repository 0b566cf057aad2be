package host

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// TrustStore knows which checksums of a plugin's binary an operator
// trusted. The store implements it (warroom plugins trust).
type TrustStore interface {
	// TrustedChecksums returns the trusted SHA-256 checksums (lower-case
	// hex) of the plugin's binary, newest first.
	TrustedChecksums(ctx context.Context, name string) ([]string, error)
}

// Where a trusted checksum came from.
const (
	TrustDatabase = "database" // an operator ran warroom plugins trust
	TrustBuild    = "build"    // the SHA256SUMS `make build` wrote next to the binary
)

// BuildSumsFile is the file, in a plugin binary's directory, in which the
// build that made the binaries recorded their checksums (sha256sum
// format). A binary it lists with its current checksum is trusted
// without a manual step.
const BuildSumsFile = "SHA256SUMS"

// ErrUntrusted is matched (errors.Is) by every *TrustError.
var ErrUntrusted = errors.New("plugin binary is not trusted")

// TrustError refuses to launch a binary whose checksum nobody trusted. It
// says whether the binary changed since it was trusted, and how to trust
// it.
type TrustError struct {
	Plugin string
	Path   string
	SHA256 string // the binary's checksum now
	// Trusted is the checksum trusted before (the newest), empty when the
	// plugin was never trusted; Source says by whom (TrustDatabase or
	// TrustBuild).
	Trusted string
	Source  string
}

// Changed reports whether the binary was trusted with another checksum.
func (e *TrustError) Changed() bool { return e.Trusted != "" }

func (e *TrustError) Error() string {
	if e.Changed() {
		return fmt.Sprintf("plugin %s: %s changed since it was trusted (trusted sha256 %s, now %s); if you rebuilt it on purpose, run: warroom plugins trust %s",
			e.Plugin, e.Path, short(e.Trusted), short(e.SHA256), e.Plugin)
	}
	return fmt.Sprintf("plugin %s is not trusted: %s has sha256 %s; after checking the binary, run: warroom plugins trust %s",
		e.Plugin, e.Path, short(e.SHA256), e.Plugin)
}

// Is makes errors.Is(err, ErrUntrusted) hold.
func (e *TrustError) Is(target error) bool { return target == ErrUntrusted }

// short abbreviates a checksum for messages; the full one is in the
// error's fields and in `plugins list -o json`.
func short(sum string) string {
	if len(sum) <= 12 {
		return sum
	}
	return sum[:12] + "…"
}

// Checksum returns the SHA-256 of the file at path, in lower-case hex.
func Checksum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("checksum %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// trust is the outcome of checking a binary.
type trust struct {
	sum    string // the binary's checksum now
	source string // TrustDatabase, TrustBuild, or "" when untrusted
	err    error  // why it must not be started: a *TrustError, or a *startError when unreadable
}

// binaryError explains a binary that cannot be read.
func binaryError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("binary %s does not exist (build it, or fix its path in the plugin configuration)", path)
	}
	return &startError{err: err}
}

// checkTrust computes the binary's checksum and finds who trusted it: the
// store first, then the build's SHA256SUMS. An untrusted or unreadable
// binary is not an error here but trust.err; an error of the store is.
func checkTrust(ctx context.Context, ts TrustStore, sums *sumCache, name, path string) (trust, error) {
	sum, err := sums.checksum(path)
	if err != nil {
		return trust{err: binaryError(path, err)}, nil
	}
	var stored []string
	if ts != nil {
		if stored, err = ts.TrustedChecksums(ctx, name); err != nil {
			return trust{}, fmt.Errorf("trusted checksums of plugin %s: %w", name, err)
		}
	}
	if slices.Contains(stored, sum) {
		return trust{sum: sum, source: TrustDatabase}, nil
	}
	built, builtOK := buildChecksum(path)
	if builtOK && built == sum {
		return trust{sum: sum, source: TrustBuild}, nil
	}
	te := &TrustError{Plugin: name, Path: path, SHA256: sum}
	switch {
	case len(stored) > 0:
		te.Trusted, te.Source = stored[0], TrustDatabase
	case builtOK:
		te.Trusted, te.Source = built, TrustBuild
	}
	return trust{sum: sum, err: te}, nil
}

var sumLine = regexp.MustCompile(`^([0-9a-fA-F]{64}) [ *](.+)$`)

// buildChecksum returns the checksum the SHA256SUMS next to the binary
// lists for its base name. A SHA256SUMS that others than its owner may
// write is ignored: it would let anyone who can write it trust anything.
func buildChecksum(path string) (string, bool) {
	sums := filepath.Join(filepath.Dir(path), BuildSumsFile)
	f, err := os.Open(sums)
	if err != nil {
		return "", false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 {
		return "", false
	}
	base := filepath.Base(path)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := sumLine.FindStringSubmatch(strings.TrimRight(sc.Text(), "\r"))
		if m != nil && m[2] == base {
			return strings.ToLower(m[1]), true
		}
	}
	return "", false
}
