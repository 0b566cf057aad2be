package model

// Effective returns the service as it will run once the scope item ships:
// the new version, and the new build's provides, requires and libraries
// where the item declares them (otherwise the catalogue's carry over).
func (it ScopeItem) Effective(svc Service) Service {
	out := svc
	out.Version = it.Version
	if len(it.Provides) > 0 {
		out.Provides = it.Provides
	}
	if len(it.Requires) > 0 {
		out.Requires = it.Requires
	}
	if len(it.Libraries) > 0 {
		out.Libraries = it.Libraries
	}
	if it.Strategy != "" {
		out.Deploy.Strategy = it.Strategy
	}
	return out
}

// InScope returns the scope item for a service, if the release ships it.
func (r *Release) InScope(service string) (ScopeItem, bool) {
	for _, it := range r.Scope {
		if it.Service == service {
			return it, true
		}
	}
	return ScopeItem{}, false
}

// LibraryRange is the range of library versions a service accepts: the
// declared range, or ^version when none is declared.
func (l LibraryUse) LibraryRange() string {
	if l.Range != "" {
		return l.Range
	}
	return "^" + l.Version
}
