package fraud

import "testing"

func TestScore(t *testing.T) {
	for _, tc := range []struct {
		p    Payment
		want int
	}{
		{Payment{AmountCents: 100, CountryMatch: true}, 0},
		{Payment{AmountCents: 60000, NewDevice: true, CountryMatch: true}, 55},
		{Payment{AmountCents: 60000, NewDevice: true, FailedRecent: 9}, 100},
	} {
		if got := Score(tc.p); got != tc.want {
			t.Errorf("Score(%+v) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if !Challenge(Payment{NewDevice: true}) {
		t.Error("a new device abroad should be challenged")
	}
}

func BenchmarkScore(b *testing.B) {
	p := Payment{AmountCents: 60000, NewDevice: true, FailedRecent: 2}
	for b.Loop() {
		Challenge(p)
	}
}
