package model

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as text ("90s", "15m", "2h30m",
// "3d") in spec files and JSON.
type Duration time.Duration

// ParseDuration reads a duration; besides Go's units it accepts "d" for days.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if num, ok := strings.CutSuffix(s, "d"); ok {
		// Days are a plain decimal number ("3d", "1.5d"): ParseFloat alone
		// also takes "NaN", "inf" and "1e3", and a product past the
		// largest duration would wrap to a negative one.
		if !plainDecimal(num) {
			return 0, fmt.Errorf("invalid duration %q: days are a number like 3d or 1.5d", s)
		}
		n, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		if n*float64(24*time.Hour) >= float64(math.MaxInt64) {
			return 0, fmt.Errorf("invalid duration %q: too long (at most %dd)", s, int64(math.MaxInt64/int64(24*time.Hour)))
		}
		return Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	return Duration(d), nil
}

// plainDecimal reports whether s is digits with at most one decimal point
// between digits ("3", "1.5"; not "", ".5", "1e3", "NaN").
func plainDecimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(t string) bool {
		return t != "" && strings.Trim(t, "0123456789") == ""
	}
	return digits(whole) && (!dot || digits(frac))
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String writes the duration the way people do: "30m", "1h30m", "90s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads the duration from text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DailyWindow is a window of local wall-clock time each day, "HH:MM" to
// "HH:MM"; it may cross midnight (22:00-04:00).
type DailyWindow struct {
	Start string `yaml:"start" json:"start,omitempty"`
	End   string `yaml:"end" json:"end,omitempty"`
}

// IsZero reports whether the window is unset.
func (w DailyWindow) IsZero() bool { return w.Start == "" && w.End == "" }

// ParseClock reads "HH:MM" as minutes after midnight.
func ParseClock(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("invalid time of day %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 {
		return 0, fmt.Errorf("invalid time of day %q: want HH:MM between 00:00 and 23:59", s)
	}
	return h*60 + m, nil
}

// Record is a spec object as stored: its canonical JSON and where it came
// from. Digest is the SHA-256 of Spec, so an unchanged object is recognised
// without decoding it.
type Record struct {
	Kind       Kind            `json:"kind"`
	Name       string          `json:"name"`
	Spec       json.RawMessage `json:"spec"`
	Digest     string          `json:"digest"`
	Source     string          `json:"source,omitempty"` // file:line it was last applied from
	Generation int64           `json:"generation"`       // bumped on every change
	UpdatedAt  time.Time       `json:"updated_at"`
}

// AuditEvent is one entry of the tamper-evident audit log. Hash is the
// SHA-256 of the previous event's hash and this event's canonical encoding.
type AuditEvent struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Command  string          `json:"command"`
	Summary  string          `json:"summary"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}
