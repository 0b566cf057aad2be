package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/core/evidence"
)

// evidenceIndexFile is the index 'evidence import DIR' reads.
const evidenceIndexFile = "evidence.yaml"

// maxIndexSize bounds the index: it lists files, it is never large.
const maxIndexSize = 4 << 20

func newEvidenceImportCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import DIR",
		Short: "Record a folder of reports at once, as listed by its evidence.yaml (all or nothing, audited)",
		Long: evidenceHelp + `

The folder holds an index, evidence.yaml, listing one entry per file:

  version: 1
  evidence:
    - {release: R, service: S, gate: G, file: PATH}
    - {release: R, service: S, gate: performance, file: new.bench, baseline: old.bench}
    - {release: R, service: S, gate: G, file: PATH, format: junit}

release, service, gate and file are required; baseline (performance
gates only) and format (default: detected) are optional; file and
baseline are paths relative to the folder, which they may not leave. One
file may serve several entries (an SBOM for every service of a release).

Every entry is checked and every file read and measured before anything
is written; then all are recorded in one transaction, or, on any error,
none. An error in the index is given at evidence.yaml:LINE:COLUMN, an
error in a report at its FILE:LINE:COLUMN (exit 1).

Prints, per entry, the file's measurement and the gate's state for the
service afterwards.`,
		Example: `  warroom evidence import testdata/demo/evidence`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("give one folder holding an %s (got %d arguments)", evidenceIndexFile, len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			entries, err := readEvidenceIndex(args[0])
			if err != nil {
				return err
			}
			return a.addEvidence(cmd.Context(), "evidence import", entries)
		},
	}
	return cmd
}

// indexError is an error in the index at its line:column.
func indexError(file string, n *yaml.Node, format string, args ...any) error {
	if n == nil {
		return fmt.Errorf("%s: %s", file, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s:%d:%d: %s", file, n.Line, n.Column, fmt.Sprintf(format, args...))
}

var indexEntryKeys = []string{"release", "service", "gate", "file", "baseline", "format"}

// readEvidenceIndex reads DIR/evidence.yaml into entries whose paths are
// inside DIR.
func readEvidenceIndex(dir string) ([]evidenceEntry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence import: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("evidence import: %s is not a folder: give the folder that holds %s", dir, evidenceIndexFile)
	}
	name := filepath.Join(dir, evidenceIndexFile)
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("evidence import: %s has no %s: list the folder's reports there (see 'warroom evidence import --help')", dir, evidenceIndexFile)
	}
	if err != nil {
		return nil, fmt.Errorf("evidence import: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("evidence import: read %s: %w", name, err)
	}
	if len(data) > maxIndexSize {
		return nil, fmt.Errorf("%s: the index is over %d MiB: it lists files, it does not hold them", name, maxIndexSize>>20)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the index is empty: give version: 1 and an evidence: list", name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, indexError(name, root, "the index must be a mapping with version: 1 and evidence: [...]")
	}
	var version, list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "version":
			version = v
		case "evidence":
			list = v
		default:
			return nil, indexError(name, k, "unknown key %q%s: the index has version and evidence", k.Value, suggestKey(k.Value, []string{"version", "evidence"}))
		}
	}
	if version == nil {
		return nil, indexError(name, root, "missing version: add version: 1")
	}
	if version.Value != "1" {
		return nil, indexError(name, version, "version %q is not supported: this warroom reads version 1", version.Value)
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		at := root
		if list != nil {
			at = list
		}
		return nil, indexError(name, at, "evidence: give a list of entries, each {release, service, gate, file}")
	}
	var out []evidenceEntry
	for _, item := range list.Content {
		e, err := indexEntry(name, dir, item)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func indexEntry(name, dir string, item *yaml.Node) (evidenceEntry, error) {
	if item.Kind != yaml.MappingNode {
		return evidenceEntry{}, indexError(name, item, "an entry must be a mapping {release, service, gate, file[, baseline][, format]}")
	}
	e := evidenceEntry{Where: fmt.Sprintf("%s:%d:%d", name, item.Line, item.Column)}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, v := item.Content[i], item.Content[i+1]
		if !slices.Contains(indexEntryKeys, k.Value) {
			return e, indexError(name, k, "unknown key %q in an entry%s: entries have %s", k.Value, suggestKey(k.Value, indexEntryKeys), strings.Join(indexEntryKeys, ", "))
		}
		if seen[k.Value] != nil {
			return e, indexError(name, k, "%s is given twice in this entry", k.Value)
		}
		if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
			return e, indexError(name, v, "%s must be a non-empty text", k.Value)
		}
		seen[k.Value] = v
	}
	for _, req := range []string{"release", "service", "gate", "file"} {
		if seen[req] == nil {
			return e, indexError(name, item, "the entry has no %s: each entry gives release, service, gate and file", req)
		}
	}
	e.Release, e.Service, e.Gate = seen["release"].Value, seen["service"].Value, seen["gate"].Value
	var err error
	if e.Path, err = insideFolder(dir, seen["file"].Value); err != nil {
		return e, indexError(name, seen["file"], "%v", err)
	}
	if b := seen["baseline"]; b != nil {
		if e.Baseline, err = insideFolder(dir, b.Value); err != nil {
			return e, indexError(name, b, "%v", err)
		}
	}
	if fm := seen["format"]; fm != nil {
		if e.Format, err = evidence.ParseFormat(fm.Value); err != nil {
			return e, indexError(name, fm, "%v", err)
		}
	}
	return e, nil
}

// insideFolder is path p of the index joined to its folder; it must not
// leave the folder (the index says what the folder holds, not where
// else to read).
func insideFolder(dir, p string) (string, error) {
	if filepath.IsAbs(p) {
		return "", fmt.Errorf("%q is an absolute path: give a path relative to the folder of the index", p)
	}
	clean := filepath.Clean(filepath.FromSlash(p))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%q leaves the folder of the index: keep the reports inside it", p)
	}
	return filepath.Join(dir, clean), nil
}

func suggestKey(got string, keys []string) string {
	if s := closest(got, keys); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// yamlSyntaxError turns yaml.v3's "yaml: line N: msg" into file:N: msg.
func yamlSyntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil && line > 0 {
		_, rest, _ := strings.Cut(msg, ":")
		return fmt.Errorf("%s:%d: %s", name, line, strings.TrimSpace(rest))
	}
	return fmt.Errorf("%s: %s", name, msg)
}
