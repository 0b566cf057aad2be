// Package reviews stands in for the reviews service: star ratings and the
// verified-buyer badge.
package reviews

import (
	"errors"
	"strings"
)

// Review is one customer review.
type Review struct {
	Stars    int
	Text     string
	Verified bool // the reviewer bought the product
	Photos   []string
}

// ErrStars is returned for a rating outside 1..5.
var ErrStars = errors.New("stars must be from 1 to 5")

// Validate checks a review before it is stored.
func Validate(r Review) error {
	if r.Stars < 1 || r.Stars > 5 {
		return ErrStars
	}
	if strings.TrimSpace(r.Text) == "" && len(r.Photos) == 0 {
		return errors.New("a review needs text or a photo")
	}
	return nil
}

// Average is the mean rating, verified buyers counting twice.
func Average(rs []Review) float64 {
	sum, weight := 0, 0
	for _, r := range rs {
		w := 1
		if r.Verified {
			w = 2
		}
		sum += r.Stars * w
		weight += w
	}
	if weight == 0 {
		return 0
	}
	return float64(sum) / float64(weight)
}
