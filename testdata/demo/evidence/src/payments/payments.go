// Package payments stands in for the payments service: authorisation with
// an idempotency key, so a retried request never charges twice.
package payments

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
)

// Ledger records authorisations by idempotency key.
type Ledger struct {
	mu   sync.Mutex
	auth map[string]int64
}

// ErrAmount is returned for a non-positive amount.
var ErrAmount = errors.New("amount must be positive")

// Authorise records an authorisation once per key and returns its id.
func (l *Ledger) Authorise(key string, cents int64) (string, error) {
	if cents <= 0 {
		return "", ErrAmount
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.auth == nil {
		l.auth = map[string]int64{}
	}
	if prev, ok := l.auth[key]; ok && prev != cents {
		return "", fmt.Errorf("key %s was used for %d cents", key, prev)
	}
	l.auth[key] = cents
	return "auth-" + key, nil
}

// RetryJitter spreads retries to the acquirer; it needs no secrecy.
func RetryJitter(maxMillis int) int {
	return rand.IntN(maxMillis + 1) // #nosec G404 -- jitter, not a secret
}
