package evidence

import (
	"bytes"
	"io"
)

// posReader turns byte offsets (all encoding/json reports) into line and
// column without keeping the file: it counts the newlines of the bytes it
// drops and keeps the last tailSize bytes, enough to place any offset that the JSON
// decoder can report, since the decoder only reports offsets inside the
// token or value it is decoding. Columns count bytes, from 1.
type posReader struct {
	r io.Reader
	// read is how many bytes have passed.
	read int64
	// tail holds the last bytes read, tail[len(tail)-1] being byte read-1;
	// tailLines is how many newlines came before tail[0].
	tail      []byte
	tailLines int64
}

const tailSize = 1 << 20

func newPosReader(r io.Reader) *posReader { return &posReader{r: r} }

func (p *posReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		chunk := b[:n]
		p.read += int64(n)
		if len(p.tail)+len(chunk) > 2*tailSize {
			// Keep the newest tailSize bytes; compacting only when the
			// buffer holds twice that keeps the copying amortised, and
			// growing it by append keeps small files cheap.
			all := len(p.tail) + len(chunk)
			drop := all - tailSize
			if drop > len(p.tail) {
				drop = len(p.tail)
			}
			p.tailLines += int64(bytes.Count(p.tail[:drop], []byte{'\n'}))
			p.tail = append(p.tail[:0], p.tail[drop:]...)
			if len(chunk) > tailSize {
				p.tailLines += int64(bytes.Count(chunk[:len(chunk)-tailSize], []byte{'\n'}))
				chunk = chunk[len(chunk)-tailSize:]
			}
		}
		p.tail = append(p.tail, chunk...)
	}
	return n, err
}

// position returns the line and column (from 1) of byte offset off, or
// line 0 when off lies before the bytes still held.
func (p *posReader) position(off int64) (line, col int) {
	start := p.read - int64(len(p.tail))
	if off < start || off > p.read {
		return 0, 0
	}
	before := p.tail[:off-start]
	line = int(p.tailLines) + bytes.Count(before, []byte{'\n'}) + 1
	if i := bytes.LastIndexByte(before, '\n'); i >= 0 {
		col = len(before) - i
	} else {
		col = len(before) + 1
		if start > 0 {
			// The line began before the bytes held: the column is unknown.
			col = 0
		}
	}
	return line, col
}
