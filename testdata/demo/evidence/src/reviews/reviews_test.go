package reviews

import "testing"

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		r    Review
		fail bool
	}{
		{Review{Stars: 5, Text: "great"}, false},
		{Review{Stars: 0, Text: "x"}, true},
		{Review{Stars: 6, Text: "x"}, true},
		{Review{Stars: 3}, true},
		{Review{Stars: 3, Photos: []string{"a.jpg"}}, false},
	} {
		if err := Validate(tc.r); (err != nil) != tc.fail {
			t.Errorf("Validate(%+v) = %v", tc.r, err)
		}
	}
}

func TestAverage(t *testing.T) {
	if got := Average([]Review{{Stars: 5, Verified: true}, {Stars: 2}}); got != 4 {
		t.Errorf("Average = %v, want 4", got)
	}
	if got := Average(nil); got != 0 {
		t.Errorf("Average(nil) = %v", got)
	}
}

func BenchmarkAverage(b *testing.B) {
	rs := make([]Review, 1000)
	for i := range rs {
		rs[i] = Review{Stars: i%5 + 1, Verified: i%3 == 0}
	}
	for b.Loop() {
		Average(rs)
	}
}
