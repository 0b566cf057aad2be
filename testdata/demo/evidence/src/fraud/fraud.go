// Package fraud stands in for the fraud service: a payment's risk score
// and whether 3-D Secure 2 must challenge the buyer.
package fraud

// Payment is what the risk score looks at.
type Payment struct {
	AmountCents  int64
	NewDevice    bool
	CountryMatch bool
	FailedRecent int
}

// Score is the risk from 0 (none) to 100.
func Score(p Payment) int {
	s := 0
	if p.AmountCents > 50000 {
		s += 30
	}
	if p.NewDevice {
		s += 25
	}
	if !p.CountryMatch {
		s += 25
	}
	s += 10 * p.FailedRecent
	if s > 100 {
		s = 100
	}
	return s
}

// Challenge says whether 3-D Secure must challenge the buyer.
func Challenge(p Payment) bool { return Score(p) >= 50 }
