package graph

import (
	"fmt"
	"sync"

	"github.com/Masterminds/semver/v3"
)

// semverCache parses each range and version string once per graph: a
// catalogue repeats the same few ranges thousands of times and parsing a
// constraint is far dearer than checking one. The mutex keeps a built
// graph safe for concurrent readers, which may still parse new strings.
type semverCache struct {
	mu   sync.Mutex
	cons map[string]parsedRange
	vers map[string]parsedVersion
}

type parsedRange struct {
	c   *semver.Constraints
	err error
}

type parsedVersion struct {
	v   *semver.Version
	err error
}

func newSemverCache() *semverCache {
	return &semverCache{cons: map[string]parsedRange{}, vers: map[string]parsedVersion{}}
}

func (s *semverCache) rng(r string) (*semver.Constraints, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.cons[r]; ok {
		return p.c, p.err
	}
	c, err := semver.NewConstraint(r)
	if err != nil {
		err = fmt.Errorf("invalid range %q: %w", r, err)
	}
	s.cons[r] = parsedRange{c, err}
	return c, err
}

func (s *semverCache) version(v string) (*semver.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.vers[v]; ok {
		return p.v, p.err
	}
	pv, err := semver.NewVersion(v)
	if err != nil {
		err = fmt.Errorf("invalid version %q: %w", v, err)
	}
	s.vers[v] = parsedVersion{pv, err}
	return pv, err
}

// satisfies reports whether version v lies in range r. An unparsable range
// or version satisfies nothing; the error says which.
func (s *semverCache) satisfies(r, v string) (bool, error) {
	c, err := s.rng(r)
	if err != nil {
		return false, err
	}
	pv, err := s.version(v)
	if err != nil {
		return false, err
	}
	return c.Check(pv), nil
}
