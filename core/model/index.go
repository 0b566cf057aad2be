package model

// Index answers look-ups by name over an org. Build it once per org; it
// shares the org's slices and must not outlive changes to them.
type Index struct {
	Org          *Org
	Teams        map[string]*Team
	People       map[string]*Person
	Vendors      map[string]*Vendor
	Libraries    map[string]*Library
	Services     map[string]*Service
	Gates        map[string]*Gate
	Environments map[string]*Environment
	Calendar     map[string]*CalendarItem
	Releases     map[string]*Release
}

// NewIndex indexes an org by name. Later duplicates win; validation has
// rejected duplicates before an org gets here.
func NewIndex(o *Org) *Index {
	ix := &Index{
		Org:          o,
		Teams:        make(map[string]*Team, len(o.Teams)),
		People:       make(map[string]*Person, len(o.People)),
		Vendors:      make(map[string]*Vendor, len(o.Vendors)),
		Libraries:    make(map[string]*Library, len(o.Libraries)),
		Services:     make(map[string]*Service, len(o.Services)),
		Gates:        make(map[string]*Gate, len(o.Gates)),
		Environments: make(map[string]*Environment, len(o.Environments)),
		Calendar:     make(map[string]*CalendarItem, len(o.Calendar)),
		Releases:     make(map[string]*Release, len(o.Releases)),
	}
	for i := range o.Teams {
		ix.Teams[o.Teams[i].Name] = &o.Teams[i]
	}
	for i := range o.People {
		ix.People[o.People[i].Name] = &o.People[i]
	}
	for i := range o.Vendors {
		ix.Vendors[o.Vendors[i].Name] = &o.Vendors[i]
	}
	for i := range o.Libraries {
		ix.Libraries[o.Libraries[i].Name] = &o.Libraries[i]
	}
	for i := range o.Services {
		ix.Services[o.Services[i].Name] = &o.Services[i]
	}
	for i := range o.Gates {
		ix.Gates[o.Gates[i].Name] = &o.Gates[i]
	}
	for i := range o.Environments {
		ix.Environments[o.Environments[i].Name] = &o.Environments[i]
	}
	for i := range o.Calendar {
		ix.Calendar[o.Calendar[i].Name] = &o.Calendar[i]
	}
	for i := range o.Releases {
		ix.Releases[o.Releases[i].Name] = &o.Releases[i]
	}
	return ix
}

// Owner describes who owns something: a team or a vendor.
type Owner struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"` // "team", "vendor" or "" when unknown
	Escalation []Contact `json:"escalation,omitempty"`
	Channel    string    `json:"channel,omitempty"`
	OnCall     string    `json:"on_call,omitempty"`
}

// OwnerOf resolves an owner name to its team or vendor.
func (ix *Index) OwnerOf(name string) Owner {
	if t, ok := ix.Teams[name]; ok {
		return Owner{Name: name, Kind: "team", Escalation: t.Escalation, Channel: t.Channel, OnCall: t.OnCall}
	}
	if v, ok := ix.Vendors[name]; ok {
		return Owner{Name: name, Kind: "vendor", Escalation: v.Escalation}
	}
	return Owner{Name: name}
}

// EnvironmentsInOrder returns the environments in promotion order.
func (ix *Index) EnvironmentsInOrder() []*Environment {
	out := make([]*Environment, 0, len(ix.Org.Environments))
	for i := range ix.Org.Environments {
		out = append(out, &ix.Org.Environments[i])
	}
	// Org.Sort keeps environments ordered; sort again in case the org was
	// built by hand.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func less(a, b *Environment) bool {
	if a.Order != b.Order {
		return a.Order < b.Order
	}
	return a.Name < b.Name
}
