// Package checkout stands in for the checkout service: the order of steps
// with 3-D Secure 2 in the middle.
package checkout

import "errors"

// Step is a checkout step.
type Step string

// The steps, in order.
const (
	Address   Step = "address"
	Payment   Step = "payment"
	Challenge Step = "3ds-challenge"
	Confirm   Step = "confirm"
)

// Next is the step after s; the 3-D Secure challenge comes only when the
// fraud service asks for it.
func Next(s Step, challenge bool) (Step, error) {
	switch s {
	case Address:
		return Payment, nil
	case Payment:
		if challenge {
			return Challenge, nil
		}
		return Confirm, nil
	case Challenge:
		return Confirm, nil
	}
	return "", errors.New("no step after " + string(s))
}
