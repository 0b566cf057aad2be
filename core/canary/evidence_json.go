package canary

import (
	"math"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// The judge renders its evidence on every judgement, for every service in
// flight; encoding/json's reflection was a third of a judgement's cost.
// appendJSON writes the same document (the same names, the same values;
// TestEvidenceJSONMatchesEncodingJSON holds it to that) directly.

type jw struct{ b []byte }

func (w *jw) key(k string) {
	if n := len(w.b); n > 0 && w.b[n-1] != '{' && w.b[n-1] != '[' {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) num(k string, v float64) {
	w.key(k)
	w.b = appendJSONNum(w.b, v)
}

func appendJSONNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0 // never produced; JSON has no NaN
	}
	// A whole number (a threshold, a count, seconds) is written as
	// encoding/json writes it, without the float formatter's search.
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		if v == 0 && math.Signbit(v) {
			return append(b, "-0"...)
		}
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// constNum is num for a value that is the same at every judgement of
// every service judged with the same settings (alpha, the tolerances,
// the objectives, the confidence, the thresholds): its text is kept in a
// small cache shared by all judgements (a slot per value's hash; a
// collision replaces the slot), so the shortest-form search runs once
// per value rather than at every judgement. A service's own values (its
// reference's latency quantiles, its limits) are not cached: a train's
// hundreds of them would only evict one another.
func (w *jw) constNum(k string, v float64) {
	w.key(k)
	bits := math.Float64bits(v)
	slot := &constNums[(bits*0x9e3779b97f4a7c15)>>(64-constNumBits)]
	if e := slot.Load(); e != nil && e.bits == bits {
		w.b = append(w.b, e.text...)
		return
	}
	n := len(w.b)
	w.b = appendJSONNum(w.b, v)
	slot.Store(&constText{bits: bits, text: string(w.b[n:])})
}

func (w *jw) constNumOmit(k string, v float64) {
	if v != 0 {
		w.constNum(k, v)
	}
}

const constNumBits = 7

type constText struct {
	bits uint64
	text string
}

var constNums [1 << constNumBits]atomic.Pointer[constText]

func (w *jw) numOmit(k string, v float64) {
	if v != 0 {
		w.num(k, v)
	}
}

func (w *jw) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *jw) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) str(k, s string) {
	w.key(k)
	w.b = appendJSONString(w.b, s)
}

func (w *jw) time(k string, t time.Time) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *jw) ptr(k string, v *float64) {
	if v == nil {
		w.key(k)
		w.b = append(w.b, "null"...)
		return
	}
	w.num(k, *v)
}

func (w *jw) open(k string, c byte) {
	if k != "" {
		w.key(k)
	} else if n := len(w.b); n > 0 && w.b[n-1] != '{' && w.b[n-1] != '[' {
		w.b = append(w.b, ',')
	}
	w.b = append(w.b, c)
}

func (w *jw) close(c byte) { w.b = append(w.b, c) }

const hexDigits = "0123456789abcdef"

// plain8 reports whether none of the 8 bytes of s needs escaping (a
// control character, a quote, a backslash, or a byte of a multi-byte
// rune), testing them at once: the classic has-zero and has-less tests
// on a machine word, each exact as to whether any byte matches.
func plain8(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return (x&highs)|((x-0x20*ones) & ^x & highs)|zero(x^('"'*ones))|zero(x^('\\'*ones)) == 0
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		// A run of bytes that need no escaping is copied at once (the
		// tests' descriptions are long plain ASCII).
		j := i
		for j+8 <= len(s) && plain8(s[j:j+8]) {
			j += 8
		}
		for j < len(s) && s[j] >= 0x20 && s[j] < utf8.RuneSelf && s[j] != '"' && s[j] != '\\' {
			j++
		}
		if j > i {
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func (w *jw) cohort(k string, c CohortEvid) {
	w.open(k, '{')
	w.int("requests", c.Requests)
	w.int("events", c.Events)
	w.num("rate", c.Rate)
	w.close('}')
}

// evidenceEnc keeps what one analysis's evidence JSON repeats from one
// judgement to the next: the settings (alpha to since, written once for
// the values they were written from) and the tests' and claims' long
// descriptions (each escaped once for the string it was escaped from).
// One analysis's, used under the judge's lock.
type evidenceEnc struct {
	head     evidenceHead
	headText []byte
	headSet  bool
	strs     [12]encString
	next     int // the slot the next new string takes
	// The texts of the step's own values that seldom change (its
	// reference's latency quantiles, its tests' reference rates, its
	// proofs' limits), a slot each.
	nums [encNumSlots]encNum
}

type encNum struct {
	bits uint64
	set  bool
	text []byte
}

// The slots of evidenceEnc.nums: p50, p95, the tolerated p95, then the
// tests' reference rates, then the proofs' limits.
const (
	encP50 = iota
	encP95
	encLimitMs
	encRefRate
	encProofLimit = encRefRate + 4
	encNumSlots   = encProofLimit + 2
)

// numVia is num, from enc's text for the value in slot when it has the
// same value (a slot past encNumSlots: none).
func (w *jw) numVia(enc *evidenceEnc, slot int, k string, v float64) {
	if enc == nil || slot >= encNumSlots {
		w.num(k, v)
		return
	}
	w.key(k)
	e, bits := &enc.nums[slot], math.Float64bits(v)
	if e.set && e.bits == bits {
		w.b = append(w.b, e.text...)
		return
	}
	n := len(w.b)
	w.b = appendJSONNum(w.b, v)
	e.bits, e.set, e.text = bits, true, append(e.text[:0], w.b[n:]...)
}

// encSlot is slot first+i of n, or none (encNumSlots) past them.
func encSlot(first, i, n int) int {
	if i >= n {
		return encNumSlots
	}
	return first + i
}

func (w *jw) numViaOmit(enc *evidenceEnc, slot int, k string, v float64) {
	if v != 0 {
		w.numVia(enc, slot, k, v)
	}
}

// evidenceHead is the fields of an Evidence that the cached head is
// written from, compared bit for bit.
type evidenceHead struct {
	alpha, alphaPerTest, tolerance, beta, errTol, latTol, objErr, objLat uint64
	train                                                                int
	since                                                                time.Time
}

func headOf(ev *Evidence) evidenceHead {
	f := math.Float64bits
	return evidenceHead{f(ev.Alpha), f(ev.AlphaPerTest), f(ev.Tolerance), f(ev.Beta), f(ev.ErrorTolerance),
		f(ev.LatencyTolerance), f(ev.Objectives.ErrorRate), f(ev.Objectives.LatencyP99Ms), ev.Train, ev.Since}
}

type encString struct {
	s    string
	text []byte // s as a JSON string
}

// encLongString is the length from which a string is worth keeping
// escaped: the tests' and claims' descriptions (80-330 bytes), not the
// names.
const encLongString = 48

// strVia is str, from enc's escaped copy of s when it has one.
func (w *jw) strVia(enc *evidenceEnc, k, s string) {
	if enc == nil || len(s) < encLongString {
		w.str(k, s)
		return
	}
	w.key(k)
	for i := range enc.strs {
		if e := &enc.strs[i]; len(e.s) == len(s) && e.s == s {
			w.b = append(w.b, e.text...)
			return
		}
	}
	n := len(w.b)
	w.b = appendJSONString(w.b, s)
	e := &enc.strs[enc.next]
	enc.next = (enc.next + 1) % len(enc.strs)
	e.s, e.text = s, append(e.text[:0], w.b[n:]...)
}

func (ev *Evidence) appendJSON(b []byte) []byte { return ev.appendJSONVia(b, nil) }

// appendJSONVia is appendJSON with what enc keeps (nil: none); the
// document is the same byte for byte.
func (ev *Evidence) appendJSONVia(b []byte, enc *evidenceEnc) []byte {
	w := jw{b: b}
	w.open("", '{')
	w.str("verdict", string(ev.Verdict))
	if enc != nil && enc.headSet && enc.head == headOf(ev) {
		w.b = append(w.b, enc.headText...)
	} else {
		n := len(w.b)
		ev.appendHead(&w)
		if enc != nil {
			enc.head, enc.headText, enc.headSet = headOf(ev), append(enc.headText[:0], w.b[n:]...), true
		}
	}
	ev.appendBody(&w, enc)
	return w.b
}

// appendHead writes the settings, alpha to since (after the verdict).
func (ev *Evidence) appendHead(w *jw) {
	w.constNum("alpha", ev.Alpha)
	w.constNum("alpha_per_test", ev.AlphaPerTest)
	w.int("train", int64(ev.Train))
	w.constNum("tolerance", ev.Tolerance)
	w.constNum("beta", ev.Beta)
	w.constNum("error_tolerance", ev.ErrorTolerance)
	w.constNum("latency_tolerance", ev.LatencyTolerance)
	w.open("objectives", '{')
	w.constNumOmit("error_rate", ev.Objectives.ErrorRate)
	w.constNumOmit("latency_p99_ms", ev.Objectives.LatencyP99Ms)
	w.close('}')
	w.time("since", ev.Since)
}

// appendBody writes the rest, at to the end.
func (ev *Evidence) appendBody(w *jw, enc *evidenceEnc) {
	w.time("at", ev.At)
	w.num("elapsed_s", ev.ElapsedS)
	w.numOmit("decided_after_s", ev.DecidedAfter)
	w.str("against", ev.Against)
	if l := ev.Latency; l != nil {
		w.open("latency", '{')
		w.bool("histogram", l.Histogram)
		w.numViaOmit(enc, encP50, "baseline_p50_ms", l.P50Ms)
		w.numViaOmit(enc, encP95, "baseline_p95_ms", l.P95Ms)
		w.numViaOmit(enc, encLimitMs, "tolerated_p95_ms", l.LimitMs)
		w.constNumOmit("slo_p99_ms", l.SLOMs)
		w.close('}')
	}
	if ev.Metrics == nil {
		w.key("metrics")
		w.b = append(w.b, "null"...)
	} else {
		w.open("metrics", '[')
		for i, m := range ev.Metrics {
			w.open("", '{')
			w.str("name", m.Name)
			w.strVia(enc, "test", m.Test)
			w.str("against", m.Against)
			w.cohort("baseline", m.Baseline)
			w.cohort("canary", m.Canary)
			w.ptr("rate_ratio", m.RateRatio)
			w.ptr("relative_effect", m.RelativeEffect)
			w.numViaOmit(enc, encSlot(encRefRate, i, 4), "reference_rate", m.ReferenceRate)
			w.numOmit("dispersion", m.Dispersion)
			w.num("e_value", m.EValue)
			w.constNum("threshold", m.Threshold)
			w.bool("rejected", m.Rejected)
			w.numOmit("rejected_after_s", m.RejectedAfterS)
			w.close('}')
		}
		w.close(']')
	}
	if ev.Proofs == nil {
		w.key("proofs")
		w.b = append(w.b, "null"...)
	} else {
		w.open("proofs", '[')
		for i, p := range ev.Proofs {
			w.open("", '{')
			w.str("name", p.Name)
			w.strVia(enc, "test", p.Test)
			w.strVia(enc, "claim", p.Claim)
			w.constNum("confidence", p.Confidence)
			w.cohort("canary", p.Canary)
			w.numVia(enc, encSlot(encProofLimit, i, 2), "limit", p.Limit)
			w.num("dispersion", p.Dispersion)
			w.num("e_value", p.EValue)
			w.constNum("threshold", p.Threshold)
			w.bool("proved", p.Proved)
			w.numOmit("proved_after_s", p.ProvedAfterS)
			if p.ProvedAfterRequests != 0 {
				w.int("proved_after_requests", p.ProvedAfterRequests)
			}
			w.int("more_requests", p.MoreRequests)
			w.close('}')
		}
		w.close(']')
	}
	w.bool("proved", ev.Proved)
	if s := ev.Insufficient; s != nil {
		w.open("insufficient", '{')
		w.int("requests", s.Requests)
		w.int("more_requests", s.MoreRequests)
		w.num("canary_rps", s.CanaryRPS)
		w.numOmit("more_s", s.MoreS)
		w.close('}')
	}
	s := ev.SRM
	w.open("srm", '{')
	w.int("nominal_weight_percent", int64(s.NominalWeight))
	w.num("observed_share", s.ObservedShare)
	w.int("canary_requests", s.CanaryRequests)
	w.int("total_requests", s.TotalRequests)
	w.num("e_value", s.EValue)
	w.constNum("threshold", s.Threshold)
	w.constNum("pause_alpha", s.PauseAlpha)
	w.bool("rejected", s.Rejected)
	w.numOmit("rejected_after_s", s.RejectedAfterS)
	w.close('}')
	w.close('}')
}
