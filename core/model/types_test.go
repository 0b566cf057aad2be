package model

import "testing"

func TestDuration(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"30m", "30m"}, {"1h", "1h"}, {"1h30m", "1h30m"}, {"90s", "1m30s"}, {"2d", "48h"}, {"0.5d", "12h"}, {"1h0m5s", "1h0m5s"}, {"106751d", "2562024h"},
	} {
		d, err := ParseDuration(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := d.String(); got != c.out {
			t.Errorf("%s prints as %s, want %s", c.in, got, c.out)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%s does not read back: %v %v", d, back, err)
		}
	}
	// Days that are not a plain decimal, or past the largest duration
	// (which would wrap to a negative one), are refused; so is "-5m".
	for _, bad := range []string{"", "soon", "-5m", "xd", "NaNd", "infd", "1e3d", ".5d", "1.d", "-1d",
		"99999999999d", "106752d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseClock(t *testing.T) {
	for in, want := range map[string]int{"00:00": 0, "02:30": 150, "23:59": 1439} {
		if got, err := ParseClock(in); err != nil || got != want {
			t.Errorf("%s = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"24:00", "2:30", "12:60", "noon"} {
		if _, err := ParseClock(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
