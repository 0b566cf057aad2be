package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/evidence"
	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// 'warroom evidence add' and 'evidence import' hand reports to gates:
// every file is read and measured against its gate (core/evidence)
// before anything is written, then all of them are recorded in one
// store transaction (store.AddEvidence). A malformed file, an unknown
// name or a file over the limit stops the command with nothing written.

const evidenceHelp = `Evidence is a report a tool wrote, measured against a gate of a release:

  junit      JUnit XML (gotestsum --junitfile, Maven Surefire): pass rate
  gocover    Go coverage profile (go test -coverprofile): percent covered
  cobertura  Cobertura XML: percent covered
  sarif      SARIF 2.1.0 (gosec -fmt sarif, ...): open findings at or above
             the gate's severity; suppressed results do not count
  spdx       SPDX 2.3 JSON: package licences against the gate's allow list
  gobench    Go benchmark output (go test -bench -count N), new against a
             baseline: regression in percent, with a statistical test so
             that noise does not fail the gate

The format is detected from the file's content (then its name), or given
with --format. The gate must be declared and of a kind that reads
evidence (tests, integration, coverage, security, licence, performance);
the service must be in the release's scope. Evidence for a gate that no
environment of the release requires is recorded, and the output says it
decides nothing until an environment requires the gate. Performance
gates need a --baseline (the same benchmarks of the build before).

Each file is stored once by its sha256, with its file name, format, who
added it and when, and what it measured; it becomes the current evidence
of (release, service, gate). Adding the current evidence again records
nothing. Files larger than 256 MiB are refused; parsing streams.

Malformed evidence is an error at FILE:LINE:COLUMN with a hint (exit 1),
and nothing is recorded. Who may add evidence is the policy's action
evidence.add (default: captain and operator, which CI's delegate holds;
exit 3 when refused).`

func newEvidenceCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Hand test, coverage, security, licence and benchmark reports to a release's gates",
		Long:  evidenceHelp,
	}
	cmd.AddCommand(newEvidenceAddCmd(a), newEvidenceImportCmd(a))
	return cmd
}

// evidenceEntry is one file to hand to a gate, as given on the command
// line or by an index entry.
type evidenceEntry struct {
	Release, Service, Gate string
	Path                   string          // the file, as it is opened
	Baseline               string          // "" unless a performance gate
	Format                 evidence.Format // "" to detect
	// Where is where the entry was given ("evidence.yaml:12:5"), for
	// errors about its names; "" on the command line.
	Where string
}

// measuredEvidence is an entry read, hashed and measured: ready to store.
type measuredEvidence struct {
	entry  evidenceEntry
	record store.EvidenceRecord
}

// evidenceResultJSON is one file in 'evidence add|import -o json'.
type evidenceResultJSON struct {
	Release        string      `json:"release"`
	Service        string      `json:"service"`
	Gate           string      `json:"gate"`
	File           string      `json:"file"`
	Format         string      `json:"format"`
	SHA256         string      `json:"sha256"`
	Size           int64       `json:"size"`
	BaselineFile   string      `json:"baseline_file,omitempty"`
	BaselineSHA256 string      `json:"baseline_sha256,omitempty"`
	Value          float64     `json:"value"`
	Threshold      string      `json:"threshold"`
	Pass           bool        `json:"pass"`
	Summary        string      `json:"summary"`
	Added          bool        `json:"added"`    // false: it already was the current evidence
	Required       bool        `json:"required"` // an environment the release goes through requires the gate
	State          gates.State `json:"state"`    // the gate's state for the service after the command ("" when not required)
	Reason         string      `json:"reason"`
}

type evidenceOutputJSON struct {
	Policy   string               `json:"policy"`
	Evidence []evidenceResultJSON `json:"evidence"`
	AuditSeq int64                `json:"audit_seq,omitempty"` // 0: nothing was added
}

func newEvidenceAddCmd(a *app) *cobra.Command {
	var service, gate, baseline, format string
	cmd := &cobra.Command{
		Use:   "add RELEASE --service S --gate G FILE [--baseline FILE] [--format F]",
		Short: "Measure a report against a gate of a release's service and record it (audited)",
		Long: evidenceHelp + `

Prints the file's measurement ("coverage 63.6 % < min 75 %") and the
gate's state for the service afterwards. One file per command: a gate's
current evidence is one report (gotestsum writes one JUnit file for all
packages, go test -coverprofile one profile for all).`,
		Example: `  warroom evidence add storefront-2026-12 --service recommendations --gate coverage cover.out
  warroom evidence add storefront-2026-12 --service reviews --gate performance new.bench --baseline old.bench`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usageError{errors.New("give the release and the evidence file: evidence add RELEASE --service S --gate G FILE")}
			case len(args) == 1:
				return usageError{fmt.Errorf("give the evidence file after the release %s", args[0])}
			case len(args) > 2:
				return usageError{fmt.Errorf("one evidence file per command (got %d): a gate's current evidence is one report", len(args)-1)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			var f evidence.Format
			if format != "" {
				var err error
				if f, err = evidence.ParseFormat(format); err != nil {
					return usageError{fmt.Errorf("--format: %w", err)}
				}
			}
			e := evidenceEntry{Release: args[0], Service: service, Gate: gate, Path: args[1], Baseline: baseline, Format: f}
			return a.addEvidence(cmd.Context(), "evidence add", []evidenceEntry{e})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&service, "service", "", "the service of the release the evidence is for (required)")
	fl.StringVar(&gate, "gate", "", "the gate the evidence is measured against (required)")
	fl.StringVar(&baseline, "baseline", "", "performance gates: the baseline build's benchmark output, compared against (required for them, refused for others)")
	fl.StringVar(&format, "format", "", "the file's format: "+formatNames()+" (default: detected from its content, then its name)")
	cmd.MarkFlagRequired("service")
	cmd.MarkFlagRequired("gate")
	return cmd
}

func formatNames() string {
	var out []string
	for _, f := range evidence.Formats {
		out = append(out, string(f))
	}
	return strings.Join(out, ", ")
}

// addEvidence reads and measures every entry, then records them all in
// one transaction and prints each measurement with its gate's state.
func (a *app) addEvidence(ctx context.Context, command string, entries []evidenceEntry) error {
	s, err := a.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	measured, added, ev, err := recordEvidence(ctx, s, a.actor, command, entries)
	if err != nil {
		return err
	}
	return a.printEvidence(ctx, s, measured, added, ev)
}

// recordEvidence reads and measures every entry (nothing is written if
// one fails), then records them all in one transaction as actor.
func recordEvidence(ctx context.Context, s *store.Store, actor, command string, entries []evidenceEntry) ([]measuredEvidence, []gates.Evidence, *model.AuditEvent, error) {
	org, err := s.OrgOf(ctx, model.KindRelease, model.KindEnvironment, model.KindGate)
	if err != nil {
		return nil, nil, nil, err
	}
	ix := model.NewIndex(org)
	measured := make([]measuredEvidence, 0, len(entries))
	for _, e := range entries {
		m, err := measureEntry(ctx, ix, org, e)
		if err != nil {
			return nil, nil, nil, err
		}
		measured = append(measured, m)
	}
	recs := make([]store.EvidenceRecord, len(measured))
	var opened []*lazyFile
	for i, m := range measured {
		recs[i] = m.record
		lf := &lazyFile{path: m.entry.Path}
		recs[i].File.Content, opened = lf, append(opened, lf)
		if recs[i].Baseline != nil {
			bf := &lazyFile{path: m.entry.Baseline}
			recs[i].Baseline.Content, opened = bf, append(opened, bf)
		}
	}
	added, ev, err := s.AddEvidence(ctx, actor, command, recs...)
	for _, lf := range opened {
		lf.Close()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return measured, added, ev, nil
}

// measureEntry checks an entry's names, reads its file (and baseline)
// while hashing it, and measures it against the gate.
func measureEntry(ctx context.Context, ix *model.Index, org *model.Org, e evidenceEntry) (measuredEvidence, error) {
	g, err := checkEvidenceTarget(ix, org, e)
	if err != nil {
		if e.Where != "" {
			return measuredEvidence{}, fmt.Errorf("%s: %w", e.Where, err)
		}
		return measuredEvidence{}, err
	}
	switch {
	case g.Kind == model.GatePerformance && e.Baseline == "":
		return measuredEvidence{}, whereErr(e, fmt.Errorf("gate %s is a performance gate: give the baseline build's benchmark output with --baseline (in an index: baseline:)", g.Name))
	case g.Kind != model.GatePerformance && e.Baseline != "":
		return measuredEvidence{}, whereErr(e, fmt.Errorf("gate %s is of kind %s, which compares against no baseline: drop the baseline", g.Name, g.Kind))
	}
	rd, file, err := readEvidence(ctx, e.Path, e.Format)
	if err != nil {
		return measuredEvidence{}, err
	}
	rec := store.EvidenceRecord{Release: e.Release, Service: e.Service, Gate: e.Gate, Format: string(rd.Format), File: file}
	var base *evidence.Reading
	if e.Baseline != "" {
		b, bfile, err := readEvidence(ctx, e.Baseline, rd.Format)
		if err != nil {
			return measuredEvidence{}, err
		}
		base, rec.Baseline = b, &bfile
	}
	m, err := evidence.Measure(*g, rd, base)
	if err != nil {
		return measuredEvidence{}, fmt.Errorf("%s: %w", e.Path, err)
	}
	rec.Value, rec.Threshold, rec.Pass, rec.Summary = m.Value, m.Threshold, m.Pass, m.Summary
	return measuredEvidence{entry: e, record: rec}, nil
}

func whereErr(e evidenceEntry, err error) error {
	if e.Where != "" {
		return fmt.Errorf("%s: %w", e.Where, err)
	}
	return usageError{err}
}

// checkEvidenceTarget checks that the release exists, the service is in
// its scope and the gate is declared and reads evidence. A gate that no
// environment of the release requires (yet) is accepted: its evidence is
// recorded and decides nothing until one does, which the output says; a
// misspelt name is an unknown gate, with the closest name suggested.
func checkEvidenceTarget(ix *model.Index, org *model.Org, e evidenceEntry) (*model.Gate, error) {
	sc, err := gates.Required(ix, e.Release, "")
	if err != nil {
		if errors.Is(err, gates.ErrUnknown) && ix.Releases[e.Release] == nil {
			return nil, unknownEvidenceName("release", e.Release, releaseNames(org), "")
		}
		return nil, err
	}
	if !slices.Contains(sc.Services, e.Service) {
		return nil, unknownEvidenceName("service", e.Service, sc.Services, " in the scope of release "+e.Release)
	}
	g := ix.Gates[e.Gate]
	var required []string
	for _, rg := range sc.Gates {
		required = append(required, rg.Name)
	}
	if g == nil {
		declared := required
		for _, og := range org.Gates {
			if !slices.Contains(declared, og.Name) {
				declared = append(declared, og.Name)
			}
		}
		return nil, unknownEvidenceName("gate", e.Gate, declared, "")
	}
	switch g.Kind {
	case model.GateApproval:
		return nil, fmt.Errorf("gate %s is of kind approval: it is signed off ('warroom gate approve'), it reads no evidence", g.Name)
	case model.GateRehearsal, model.GateDrift:
		return nil, fmt.Errorf("gate %s is of kind %s, which reads no evidence files (it is not evaluated yet; 'warroom gate waive' lets it through)", g.Name, g.Kind)
	}
	return g, nil
}

func releaseNames(org *model.Org) []string {
	var out []string
	for _, r := range org.Releases {
		out = append(out, r.Name)
	}
	return out
}

// unknownEvidenceName is "unknown gate "covrage": did you mean "coverage"?
// known ...".
func unknownEvidenceName(what, got string, known []string, scope string) error {
	msg := fmt.Sprintf("unknown %s %q%s", what, got, scope)
	if s := closest(got, known); s != "" {
		msg += fmt.Sprintf(": did you mean %q?", s)
	}
	if len(known) == 0 {
		return fmt.Errorf("%s: there are none", msg)
	}
	return fmt.Errorf("%s (known: %s)", msg, strings.Join(known, ", "))
}

// readEvidence reads a file of evidence in one pass, hashing the bytes as
// the parser streams them (and any it leaves unread). It refuses a file
// over the limit before reading it.
func readEvidence(ctx context.Context, path string, f evidence.Format) (*evidence.Reading, store.EvidenceFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, store.EvidenceFile{}, fmt.Errorf("evidence: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, store.EvidenceFile{}, fmt.Errorf("evidence: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, store.EvidenceFile{}, fmt.Errorf("evidence: %s is not a regular file", path)
	}
	if st.Size() > evidence.MaxFileSize {
		return nil, store.EvidenceFile{}, &evidence.Error{File: path,
			Msg:  fmt.Sprintf("the file has %d bytes, over the %d MiB limit on evidence", st.Size(), evidence.MaxFileSize>>20),
			Hint: "hand over the report itself, not a log; split a huge suite into several files"}
	}
	if f == "" {
		head := make([]byte, evidence.HeadSize)
		n, err := io.ReadFull(fh, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, store.EvidenceFile{}, fmt.Errorf("evidence: read %s: %w", path, err)
		}
		if f, err = evidence.Detect(path, head[:n]); err != nil {
			return nil, store.EvidenceFile{}, err
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return nil, store.EvidenceFile{}, fmt.Errorf("evidence: %w", err)
		}
	}
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(fh, h)}
	rd, err := evidence.Read(ctx, cr, path, f)
	if err != nil {
		return nil, store.EvidenceFile{}, err
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, store.EvidenceFile{}, fmt.Errorf("evidence: read %s: %w", path, err)
	}
	if cr.n > evidence.MaxFileSize {
		return nil, store.EvidenceFile{}, &evidence.Error{File: path, Msg: fmt.Sprintf("the file grew over the %d MiB limit while it was read", evidence.MaxFileSize>>20)}
	}
	return rd, store.EvidenceFile{Name: filepath.Base(path), SHA256: hex.EncodeToString(h.Sum(nil)), Size: cr.n}, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// lazyFile opens its file on the first read: the store reads a file's
// bytes only when it holds none with its hash yet, and checks them
// against the hash and size measured (a file changed meanwhile is
// refused).
type lazyFile struct {
	path string
	f    *os.File
	err  error
}

func (l *lazyFile) Read(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = os.Open(l.path)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Read(p)
}

func (l *lazyFile) Close() {
	if l.f != nil {
		l.f.Close()
	}
}

// printEvidence prints, per file, its measurement and the gate's state
// for the service after the command.
func (a *app) printEvidence(ctx context.Context, s *store.Store, measured []measuredEvidence, added []gates.Evidence, ev *model.AuditEvent) error {
	states := map[[3]string]gates.Result{}
	for _, rel := range uniqueReleases(measured) {
		st, err := gateStatus(ctx, s, rel, "", time.Now())
		if err != nil {
			return err
		}
		for _, r := range st.Results {
			states[[3]string{r.Release, r.Service, r.Gate}] = r
		}
	}
	mode, err := policyMode(ctx, s)
	if err != nil {
		return err
	}
	out := evidenceOutputJSON{Policy: mode, Evidence: []evidenceResultJSON{}}
	if ev != nil {
		out.AuditSeq = ev.Seq
	}
	newest := addedAt(added, ev)
	for i, m := range measured {
		e := added[i]
		isNew := ev != nil && e.AddedAt.Equal(newest)
		r, required := states[[3]string{e.Release, e.Service, e.Gate}]
		out.Evidence = append(out.Evidence, evidenceResultJSON{Release: e.Release, Service: e.Service, Gate: e.Gate,
			File: e.File, Format: e.Format, SHA256: e.SHA256, Size: e.Size, BaselineFile: e.BaselineFile, BaselineSHA256: e.BaselineSHA256,
			Value: m.record.Value, Threshold: m.record.Threshold, Pass: m.record.Pass, Summary: m.record.Summary,
			Added: isNew, Required: required, State: r.State, Reason: r.Reason})
	}
	if a.json() {
		return a.writeJSON(out)
	}
	for _, r := range out.Evidence {
		note := ""
		if !r.Added {
			note = ", already the current evidence: nothing recorded"
		}
		fmt.Fprintf(a.stdout, "%s/%s %s: %s (%s, %s sha256:%s%s)\n", r.Release, r.Service, r.Gate, r.Summary,
			r.Format, r.File, gates.ShortHash(r.SHA256), note)
		if !r.Required {
			fmt.Fprintf(a.stdout, "  no environment release %s goes through requires gate %s: recorded, it decides nothing until one does\n", r.Release, r.Gate)
			continue
		}
		fmt.Fprintf(a.stdout, "  gate %s for %s is now %s\n", r.Gate, r.Service, stateMark(r.State))
	}
	if ev != nil {
		fmt.Fprintf(a.stdout, "%s (audit #%d)\n", ev.Summary, ev.Seq)
	} else {
		fmt.Fprintln(a.stdout, "nothing recorded: every file already is its gate's current evidence")
	}
	return nil
}

// addedAt is the time of the command's additions (one transaction, one
// time): the store returns, for a file that already was the current
// evidence, that evidence, added earlier.
func addedAt(added []gates.Evidence, ev *model.AuditEvent) time.Time {
	if ev == nil {
		return time.Time{}
	}
	var newest time.Time
	for _, e := range added {
		if e.AddedAt.After(newest) {
			newest = e.AddedAt
		}
	}
	return newest
}

func uniqueReleases(measured []measuredEvidence) []string {
	var out []string
	for _, m := range measured {
		if !slices.Contains(out, m.entry.Release) {
			out = append(out, m.entry.Release)
		}
	}
	return out
}
