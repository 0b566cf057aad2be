package checkout

import "testing"

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		from      Step
		challenge bool
		want      Step
	}{
		{Address, false, Payment}, {Payment, true, Challenge}, {Payment, false, Confirm}, {Challenge, false, Confirm},
	} {
		if got, err := Next(tc.from, tc.challenge); err != nil || got != tc.want {
			t.Errorf("Next(%s) = %s, %v; want %s", tc.from, got, err, tc.want)
		}
	}
	if _, err := Next(Confirm, false); err == nil {
		t.Error("a step after confirm")
	}
}

func BenchmarkNext(b *testing.B) {
	for b.Loop() {
		_, _ = Next(Payment, true)
	}
}
