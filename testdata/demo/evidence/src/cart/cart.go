// Package cart stands in for the cart service: line totals in cents.
package cart

// Line is one product in the basket.
type Line struct {
	SKU        string
	Qty        int
	PriceCents int64
}

// Total is the basket's total in cents; lines with no quantity count nothing.
func Total(lines []Line) int64 {
	var t int64
	for _, l := range lines {
		if l.Qty > 0 {
			t += int64(l.Qty) * l.PriceCents
		}
	}
	return t
}

// Merge adds a guest basket to a signed-in one, summing quantities.
func Merge(a, b []Line) []Line {
	idx := map[string]int{}
	out := append([]Line(nil), a...)
	for i, l := range out {
		idx[l.SKU] = i
	}
	for _, l := range b {
		if i, ok := idx[l.SKU]; ok {
			out[i].Qty += l.Qty
			continue
		}
		idx[l.SKU] = len(out)
		out = append(out, l)
	}
	return out
}
