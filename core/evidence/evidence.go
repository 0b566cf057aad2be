package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format names an evidence format.
type Format string

// The formats Read understands.
const (
	FormatJUnit     Format = "junit"
	FormatGoCover   Format = "gocover"
	FormatCobertura Format = "cobertura"
	FormatSARIF     Format = "sarif"
	FormatSPDX      Format = "spdx"
	FormatGoBench   Format = "gobench"
)

// Formats lists every format, in the order they are documented.
var Formats = []Format{FormatJUnit, FormatGoCover, FormatCobertura, FormatSARIF, FormatSPDX, FormatGoBench}

// ParseFormat checks a format name given by a user (--format, the index's
// format field).
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown evidence format %q (one of: %s)", s, strings.Join(names, ", "))
}

// MaxFileSize is the largest evidence file accepted: 256 MiB. Reports
// beyond it are almost always a mistake (a log instead of a report) and
// would hold a CLI command for too long. ReadFile refuses such a file
// before reading it; Read fails as soon as it has read more.
const MaxFileSize = 256 << 20

// maxRead is MaxFileSize, lowered by tests of the limit on streams.
var maxRead int64 = MaxFileSize

// HeadSize is how many leading bytes Detect needs to see.
const HeadSize = 4096

// Reading is what one evidence file says, in the terms gates use. Exactly
// one of its parts is set, according to Format.
type Reading struct {
	Format     Format
	Tests      *TestCounts // junit
	Coverage   *Coverage   // gocover, cobertura
	Findings   []Finding   // sarif: open findings only
	Suppressed int         // sarif: findings not counted because suppressed
	Packages   []Package   // spdx
	Benchmarks *BenchSet   // gobench
}

// Error is malformed or unacceptable evidence: where (file:line:column,
// either of line and column 0 when unknown), what, and how to fix it.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Hint string
	Err  error // the underlying parser error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("\n    hint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Detect names the format of a file from its first bytes (up to HeadSize),
// falling back to its name's extension when the content is not telling.
func Detect(name string, head []byte) (Format, error) {
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	if f, ok := detectContent(head); ok {
		return f, nil
	}
	lower := strings.ToLower(filepath.Base(name))
	switch {
	case strings.HasSuffix(lower, ".sarif"), strings.HasSuffix(lower, ".sarif.json"):
		return FormatSARIF, nil
	case strings.HasSuffix(lower, ".spdx.json"):
		return FormatSPDX, nil
	case strings.HasSuffix(lower, ".coverprofile"), strings.HasSuffix(lower, ".cover"),
		lower == "cover.out", lower == "coverage.out":
		return FormatGoCover, nil
	case strings.HasSuffix(lower, ".bench"), strings.HasSuffix(lower, ".benchstat"):
		return FormatGoBench, nil
	case strings.HasPrefix(lower, "junit") && strings.HasSuffix(lower, ".xml"),
		strings.HasPrefix(lower, "test-") && strings.HasSuffix(lower, ".xml"):
		return FormatJUnit, nil
	case strings.Contains(lower, "cobertura") && strings.HasSuffix(lower, ".xml"):
		return FormatCobertura, nil
	}
	return "", &Error{File: name, Msg: "cannot tell the evidence format",
		Hint: "give --format (junit, gocover, cobertura, sarif, spdx, gobench), or the index entry's format"}
}

// detectContent recognises a format by its opening: the XML root element,
// the JSON document's marker keys, a coverage mode line, benchmark lines.
func detectContent(head []byte) (Format, bool) {
	h := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(h, []byte("mode: ")):
		return FormatGoCover, true
	case len(h) > 0 && h[0] == '<':
		switch xmlRoot(h) {
		case "testsuites", "testsuite":
			return FormatJUnit, true
		case "coverage":
			return FormatCobertura, true
		}
	case len(h) > 0 && h[0] == '{':
		switch {
		case bytes.Contains(h, []byte(`"spdxVersion"`)):
			return FormatSPDX, true
		case bytes.Contains(h, []byte(`"runs"`)) || bytes.Contains(h, []byte("sarif")):
			return FormatSARIF, true
		}
	}
	for _, line := range bytes.Split(h, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("Benchmark")) || bytes.HasPrefix(line, []byte("goos: ")) ||
			bytes.HasPrefix(line, []byte("pkg: ")) {
			return FormatGoBench, true
		}
	}
	return "", false
}

// xmlRoot returns the local name of the first element in an XML head,
// skipping the prolog, comments and doctype.
func xmlRoot(h []byte) string {
	for len(h) > 0 {
		i := bytes.IndexByte(h, '<')
		if i < 0 || i+1 >= len(h) {
			return ""
		}
		h = h[i+1:]
		if h[0] == '?' || h[0] == '!' {
			continue
		}
		end := bytes.IndexAny(h, " \t\r\n/>")
		if end < 0 {
			return ""
		}
		name := string(h[:end])
		if j := strings.IndexByte(name, ':'); j >= 0 {
			name = name[j+1:]
		}
		return name
	}
	return ""
}

// Read parses one evidence file of a known format from r; name is used in
// errors. It reads at most MaxFileSize bytes and checks ctx as it goes.
func Read(ctx context.Context, r io.Reader, name string, f Format) (*Reading, error) {
	lr := &limitedReader{r: r, n: maxRead, name: name}
	var (
		rd  *Reading
		err error
	)
	switch f {
	case FormatJUnit:
		rd, err = readJUnit(ctx, lr, name)
	case FormatGoCover:
		rd, err = readGoCover(ctx, lr, name)
	case FormatCobertura:
		rd, err = readCobertura(ctx, lr, name)
	case FormatSARIF:
		rd, err = readSARIF(ctx, lr, name)
	case FormatSPDX:
		rd, err = readSPDX(ctx, lr, name)
	case FormatGoBench:
		rd, err = readGoBench(ctx, lr, name)
	default:
		_, perr := ParseFormat(string(f))
		return nil, &Error{File: name, Msg: perr.Error()}
	}
	if lr.err != nil {
		return nil, lr.err
	}
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// ReadFile opens path, refuses it if it is larger than MaxFileSize, detects
// its format unless f is given, and reads it.
func ReadFile(ctx context.Context, path string, f Format) (*Reading, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, tooBig(path)
	}
	if f == "" {
		head := make([]byte, HeadSize)
		n, err := io.ReadFull(fh, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("evidence: read %s: %w", path, err)
		}
		if f, err = Detect(path, head[:n]); err != nil {
			return nil, err
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
	}
	return Read(ctx, fh, path, f)
}

func tooBig(name string) *Error {
	return &Error{File: name, Msg: fmt.Sprintf("file is larger than the %d MiB limit on evidence", MaxFileSize>>20),
		Hint: "hand over the report itself, not a log; split a huge suite into several files"}
}

// limitedReader fails once more than n bytes have been read, so that a
// stream without a known size is bounded too.
type limitedReader struct {
	r    io.Reader
	n    int64
	name string
	err  *Error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.err = tooBig(l.name)
		return 0, l.err
	}
	return n, err
}

// checkEvery is how many tokens or records a parser handles between
// checks of its context.
const checkEvery = 4096

func ctxErr(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("evidence: reading %s: %w", name, err)
	}
	return nil
}
