package graph

import (
	"cmp"
	"slices"

	"github.com/warroom/warroom/core/model"
)

// LibraryConflict is a shared library the scope uses at two or more
// versions.
type LibraryConflict struct {
	Library string `json:"library"`
	Owner   string `json:"owner,omitempty"` // from the library catalogue
	// Users groups the services by the version they bundle, newest first.
	Users []LibraryVersionUsers `json:"users"`
	// Satisfying lists the versions that every user's range accepts,
	// newest first: from the library catalogue's released versions or,
	// when the catalogue lacks the library, from the versions in use.
	// Empty when no version satisfies everyone.
	Satisfying []string `json:"satisfying"`
}

// LibraryVersionUsers is the services bundling one version of a library.
type LibraryVersionUsers struct {
	Version  string        `json:"version"`
	Services []LibraryUser `json:"services"`
}

// LibraryUser is one service using a library.
type LibraryUser struct {
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
	Range string `json:"range"` // the versions it accepts
}

// LibraryConflicts finds the shared libraries the scope of rel uses at
// different versions; see (*Graph).LibraryConflicts.
func LibraryConflicts(ix *model.Index, rel *model.Release) []LibraryConflict {
	return ForRelease(ix, rel).LibraryConflicts()
}

// LibraryConflicts finds, across the services in scope as they will be
// built, every shared library used at two or more versions, with the
// released versions that would satisfy every user. Sorted by library.
// A graph built without a release has no scope and so no conflicts.
func (g *Graph) LibraryConflicts() []LibraryConflict {
	byLib := map[string][]libUse{}
	for _, p := range g.inScopeNo {
		s := g.cur[p]
		for _, l := range s.Libraries {
			byLib[l.Name] = append(byLib[l.Name], libUse{s, l})
		}
	}
	var catalogue map[string]*model.Library
	var out []LibraryConflict
	for name, uses := range byLib {
		groups := map[string]*LibraryVersionUsers{}
		for _, u := range uses {
			v := g.canonical(u.lib.Version)
			grp, ok := groups[v]
			if !ok {
				grp = &LibraryVersionUsers{Version: v}
				groups[v] = grp
			}
			// uses are in name order (in-scope nodes are), and so are these.
			grp.Services = append(grp.Services, LibraryUser{Name: u.svc.Name, Owner: u.svc.Owner, Range: u.lib.LibraryRange()})
		}
		if len(groups) < 2 {
			continue
		}
		if catalogue == nil {
			catalogue = make(map[string]*model.Library, len(g.org.Libraries))
			for i := range g.org.Libraries {
				catalogue[g.org.Libraries[i].Name] = &g.org.Libraries[i]
			}
		}
		c := LibraryConflict{Library: name, Satisfying: []string{}}
		var candidates []string
		if lib, ok := catalogue[name]; ok {
			c.Owner = lib.Owner
			candidates = lib.Versions
		}
		inUse := len(candidates) == 0
		for v, grp := range groups {
			c.Users = append(c.Users, *grp)
			if inUse {
				candidates = append(candidates, v)
			}
		}
		slices.SortFunc(c.Users, func(a, b LibraryVersionUsers) int { return g.compareVersions(b.Version, a.Version) })
		seen := map[string]bool{}
		for _, v := range candidates {
			cv := g.canonical(v)
			if seen[cv] {
				continue
			}
			seen[cv] = true
			if g.acceptedByAll(cv, uses) {
				c.Satisfying = append(c.Satisfying, cv)
			}
		}
		slices.SortFunc(c.Satisfying, func(a, b string) int { return g.compareVersions(b, a) })
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b LibraryConflict) int { return cmp.Compare(a.Library, b.Library) })
	return out
}

type libUse struct {
	svc *model.Service
	lib model.LibraryUse
}

// acceptedByAll reports whether every user's range accepts version v.
func (g *Graph) acceptedByAll(v string, uses []libUse) bool {
	for _, u := range uses {
		if ok, _ := g.sv.satisfies(u.lib.LibraryRange(), v); !ok {
			return false
		}
	}
	return true
}

// canonical writes a version the way semver does ("1.2" -> "1.2.0"), so
// that one version spelled two ways is not a conflict. Unparsable versions
// are kept as written.
func (g *Graph) canonical(v string) string {
	pv, err := g.sv.version(v)
	if err != nil {
		return v
	}
	return pv.String()
}

// compareVersions orders by semver; unparsable versions sort below every
// valid one, among themselves by text.
func (g *Graph) compareVersions(a, b string) int {
	va, ea := g.sv.version(a)
	vb, eb := g.sv.version(b)
	switch {
	case ea == nil && eb == nil:
		return cmp.Or(va.Compare(vb), cmp.Compare(a, b))
	case ea == nil:
		return 1
	case eb == nil:
		return -1
	}
	return cmp.Compare(a, b)
}
