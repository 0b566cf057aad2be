package canary

import (
	"math"
	"strconv"
)

// The reasons' numbers. Every judgement of every service in flight
// writes a dozen and more of them, so the common cases skip strconv's
// general float formatter; each function's output is, byte for byte,
// the strconv formatting its comment names (TestFormatMatchesStrconv).

var pow10 = [...]float64{1, 10, 100, 1000}

// appendFixed is strconv.AppendFloat(b, v, 'f', prec, 64), prec 0 to 3.
func appendFixed(b []byte, v float64, prec int) []byte {
	if n, ok := roundScaled(v, prec); ok {
		p := int64(pow10[prec])
		b = strconv.AppendInt(b, n/p, 10)
		if prec > 0 {
			b = append(b, '.')
			f := n % p
			for q := p / 10; q > 0; q /= 10 {
				b = append(b, byte('0'+f/q))
				f %= q
			}
		}
		return b
	}
	return strconv.AppendFloat(b, v, 'f', prec, 64)
}

// roundScaled is v x 10^prec rounded to an integer as strconv rounds v to
// prec decimals (its exact value, ties to even), when the product is
// clearly not a tie: for 0 <= v x 10^prec < 1e9 its rounding error is
// below 1e-7, so a fraction further than 1e-6 from one half rounds the
// same way as the exact product. ok is false otherwise.
func roundScaled(v float64, prec int) (int64, bool) {
	if !(v >= 0) || math.Signbit(v) {
		return 0, false
	}
	m := v * pow10[prec]
	if !(m < 1e9) {
		return 0, false
	}
	fl := math.Floor(m)
	if math.Abs(m-fl-0.5) <= 1e-6 {
		return 0, false
	}
	if m-fl > 0.5 {
		fl++
	}
	return int64(fl), true
}

// appendG2 is strconv.AppendFloat(b, x, 'g', 2, 64).
func appendG2(b []byte, x float64) []byte {
	switch {
	case x >= 1 && x < 10:
		// Two significant digits: tenths; 10 once rounded up.
		if n, ok := roundScaled(x, 1); ok {
			if n == 100 {
				return append(b, '1', '0')
			}
			b = append(b, byte('0'+n/10))
			if n%10 != 0 {
				b = append(b, '.', byte('0'+n%10))
			}
			return b
		}
	case x >= 0.1 && x < 1:
		// Hundredths; 1 once rounded up; a trailing zero dropped.
		if n, ok := roundScaled(x, 2); ok {
			if n == 100 {
				return append(b, '1')
			}
			b = append(b, '0', '.', byte('0'+n/10))
			if n%10 != 0 {
				b = append(b, byte('0'+n%10))
			}
			return b
		}
	}
	return strconv.AppendFloat(b, x, 'g', 2, 64)
}

// appendG3 is strconv.AppendFloat(b, x, 'g', 3, 64).
func appendG3(b []byte, x float64) []byte {
	var n int64
	var ok bool
	var point int // digits before the decimal point, of 3
	switch {
	case x >= 10 && x < 100:
		n, ok = roundScaled(x, 1)
		point = 2
	case x >= 1 && x < 10:
		n, ok = roundScaled(x, 2)
		point = 1
	}
	if !ok {
		return strconv.AppendFloat(b, x, 'g', 3, 64)
	}
	if n == 1000 { // rounded up to the next power of ten
		b = append(b, '1', '0')
		if point == 2 {
			b = append(b, '0')
		}
		return b
	}
	d := [3]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)}
	end := 3
	for end > point && d[end-1] == '0' {
		end-- // %g drops trailing zeros
	}
	b = append(b, d[:point]...)
	if end > point {
		b = append(b, '.')
		b = append(b, d[point:end]...)
	}
	return b
}

// appendPct writes a rate in percent: 0%, 0.042%, 3.1%, 12%.
func appendPct(b []byte, x float64) []byte {
	switch {
	case x == 0:
		return append(b, '0', '%')
	case x < 0.001:
		b = appendFixed(b, 100*x, 3)
	case x < 0.1:
		b = appendFixed(b, 100*x, 1)
	default:
		b = appendFixed(b, 100*x, 0)
	}
	return append(b, '%')
}

func pct(x float64) string { return string(appendPct(nil, x)) }

// appendNum writes an e-value or a threshold: 2 significant digits below
// 10, whole numbers up to a million, 3 significant digits beyond.
func appendNum(b []byte, x float64) []byte {
	switch {
	case x >= 1e6:
		return strconv.AppendFloat(b, x, 'g', 3, 64)
	case x >= 10:
		return appendFixed(b, x, 0)
	}
	return appendG2(b, x)
}

func num(x float64) string { return string(appendNum(nil, x)) }

// appendSecs writes seconds: "42 s", or "3.5 min" from two minutes on.
func appendSecs(b []byte, s float64) []byte {
	if s < 120 {
		return append(appendFixed(b, s, 0), " s"...)
	}
	return append(appendFixed(b, s/60, 1), " min"...)
}

func secs(s float64) string { return string(appendSecs(nil, s)) }

// ms formats milliseconds.
func ms(v float64) string {
	if v >= 100 {
		return string(appendFixed(nil, v, 0)) + " ms"
	}
	return string(appendG3(nil, v)) + " ms"
}

// pp formats an absolute rate difference in percentage points.
func pp(x float64) string { return strconv.FormatFloat(100*x, 'g', 2, 64) + " pp" }

// pctConf formats a confidence level.
func pctConf(x float64) string { return string(appendPctConf(nil, x)) }

func appendPctConf(b []byte, x float64) []byte { return append(appendG3(b, 100*x), " %"...) }

// appendThousands writes n with comma thousands separators (2,310).
func appendThousands(b []byte, n int64) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], n, 10)
	if n < 0 {
		b = append(b, '-')
		s = s[1:]
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return b
}

// thousands formats n with comma thousands separators (2,310).
func thousands(n int64) string { return string(appendThousands(nil, n)) }
