package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// cut truncates s to width cells, marking the cut with an ellipsis, so
// nothing ever wraps.
func cut(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// pad cuts or pads plain s to exactly width cells, keeping columns aligned.
func pad(s string, width int) string {
	s = cut(s, width)
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// fit makes s exactly h lines of at most w cells: the body never pushes
// the footer off screen and never wraps.
func fit(s string, w, h int) string {
	if h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		lines[i] = cut(l, w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}

// scrollTo returns the first visible row so that cursor stays in a window
// of height rows starting near offset.
func scrollTo(offset, cursor, height, total int) int {
	if height <= 0 {
		return 0
	}
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+height {
		offset = cursor - height + 1
	}
	if m := max(0, total-height); offset > m {
		offset = m
	}
	return max(0, offset)
}

// width is s's width in terminal cells, escape sequences excluded.
func width(s string) int { return ansi.StringWidth(s) }

// writeRows writes the rows of a scrolling list that fit in height from
// offset, each on a new line, the selected one from selRows; it returns
// how many it wrote.
func writeRows(b *strings.Builder, rows, selRows []string, offset, height, cursor int) int {
	end := min(len(rows), offset+height)
	for i := offset; i < end; i++ {
		b.WriteByte('\n')
		if i == cursor {
			b.WriteString(selRows[i])
		} else {
			b.WriteString(rows[i])
		}
	}
	return max(0, end-offset)
}

// labelled is a "Label     value" field wrapped to width over at most
// maxLines lines, the value's continuation under the value; label is
// already styled and labelW cells wide.
func labelled(label string, labelW int, value string, width, maxLines int) []string {
	lines := wrapLines(value, max(10, width-labelW))
	if len(lines) > maxLines {
		lines = append(lines[:maxLines-1], cut(strings.Join(lines[maxLines-1:], " "), width-labelW))
	}
	out := []string{label + lines[0]}
	for _, l := range lines[1:] {
		out = append(out, strings.Repeat(" ", labelW)+l)
	}
	return out
}
