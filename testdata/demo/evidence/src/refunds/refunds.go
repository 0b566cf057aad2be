// Package refunds stands in for the refunds service: partial refunds that
// never exceed what was captured.
package refunds

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Remaining is what may still be refunded of a capture.
func Remaining(capturedCents int64, refunded []int64) int64 {
	r := capturedCents
	for _, x := range refunded {
		r -= x
	}
	if r < 0 {
		return 0
	}
	return r
}

// Refund checks a refund against what remains.
func Refund(capturedCents int64, refunded []int64, cents int64) error {
	if cents <= 0 || cents > Remaining(capturedCents, refunded) {
		return fmt.Errorf("refund of %d cents exceeds the %d remaining", cents, Remaining(capturedCents, refunded))
	}
	return nil
}

// LoadLimits reads per-merchant refund limits, "merchant=cents" a line,
// from a file the operator names.
func LoadLimits(path string) (map[string]int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("bad limit line %q", line)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}
