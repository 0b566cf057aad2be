package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Object is any spec object: it has a kind and a name.
type Object interface {
	ObjectKind() Kind
	ObjectName() string
}

func (t Team) ObjectKind() Kind          { return KindTeam }
func (t Team) ObjectName() string        { return t.Name }
func (p Person) ObjectKind() Kind        { return KindPerson }
func (p Person) ObjectName() string      { return p.Name }
func (p Policy) ObjectKind() Kind        { return KindPolicy }
func (p Policy) ObjectName() string      { return p.Name }
func (v Vendor) ObjectKind() Kind        { return KindVendor }
func (v Vendor) ObjectName() string      { return v.Name }
func (l Library) ObjectKind() Kind       { return KindLibrary }
func (l Library) ObjectName() string     { return l.Name }
func (s Service) ObjectKind() Kind       { return KindService }
func (s Service) ObjectName() string     { return s.Name }
func (g Gate) ObjectKind() Kind          { return KindGate }
func (g Gate) ObjectName() string        { return g.Name }
func (e Environment) ObjectKind() Kind   { return KindEnvironment }
func (e Environment) ObjectName() string { return e.Name }
func (c CalendarItem) ObjectKind() Kind  { return KindCalendar }
func (c CalendarItem) ObjectName() string {
	return c.Name
}
func (r Release) ObjectKind() Kind   { return KindRelease }
func (r Release) ObjectName() string { return r.Name }

// Canonical returns the canonical JSON encoding of an object and its
// SHA-256 digest ("sha256:<hex>"). encoding/json writes struct fields in
// declaration order and map keys sorted, so the encoding is stable.
func Canonical(o Object) (json.RawMessage, string, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, "", fmt.Errorf("encode %s %q: %w", o.ObjectKind(), o.ObjectName(), err)
	}
	sum := sha256.Sum256(b)
	return b, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// NewRecord encodes an object as a record.
func NewRecord(o Object, source string) (Record, error) {
	b, d, err := Canonical(o)
	if err != nil {
		return Record{}, err
	}
	return Record{Kind: o.ObjectKind(), Name: o.ObjectName(), Spec: b, Digest: d, Source: source}, nil
}

// Decode turns a record back into its object.
func (r Record) Decode() (Object, error) {
	var (
		o   Object
		err error
	)
	switch r.Kind {
	case KindTeam:
		var v Team
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindPerson:
		var v Person
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindPolicy:
		var v Policy
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindVendor:
		var v Vendor
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindLibrary:
		var v Library
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindService:
		var v Service
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindGate:
		var v Gate
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindEnvironment:
		var v Environment
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindCalendar:
		var v CalendarItem
		err, o = json.Unmarshal(r.Spec, &v), &v
	case KindRelease:
		var v Release
		err, o = json.Unmarshal(r.Spec, &v), &v
	default:
		return nil, fmt.Errorf("record %s/%s: unknown kind", r.Kind, r.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", r.Kind, r.Name, err)
	}
	return deref(o), nil
}

func deref(o Object) Object {
	switch v := o.(type) {
	case *Team:
		return *v
	case *Person:
		return *v
	case *Policy:
		return *v
	case *Vendor:
		return *v
	case *Library:
		return *v
	case *Service:
		return *v
	case *Gate:
		return *v
	case *Environment:
		return *v
	case *CalendarItem:
		return *v
	case *Release:
		return *v
	}
	return o
}

// Add puts an object into the org's list for its kind.
func (o *Org) Add(obj Object) {
	switch v := obj.(type) {
	case Team:
		o.Teams = append(o.Teams, v)
	case Person:
		o.People = append(o.People, v)
	case Policy:
		o.Policies = append(o.Policies, v)
	case Vendor:
		o.Vendors = append(o.Vendors, v)
	case Library:
		o.Libraries = append(o.Libraries, v)
	case Service:
		o.Services = append(o.Services, v)
	case Gate:
		o.Gates = append(o.Gates, v)
	case Environment:
		o.Environments = append(o.Environments, v)
	case CalendarItem:
		o.Calendar = append(o.Calendar, v)
	case Release:
		o.Releases = append(o.Releases, v)
	}
}

// Objects lists every object of the org, kinds in dependency order.
func (o *Org) Objects() []Object {
	out := make([]Object, 0, len(o.Teams)+len(o.People)+len(o.Policies)+len(o.Vendors)+len(o.Libraries)+len(o.Services)+
		len(o.Gates)+len(o.Environments)+len(o.Calendar)+len(o.Releases))
	for _, v := range o.Teams {
		out = append(out, v)
	}
	for _, v := range o.People {
		out = append(out, v)
	}
	for _, v := range o.Policies {
		out = append(out, v)
	}
	for _, v := range o.Vendors {
		out = append(out, v)
	}
	for _, v := range o.Libraries {
		out = append(out, v)
	}
	for _, v := range o.Services {
		out = append(out, v)
	}
	for _, v := range o.Gates {
		out = append(out, v)
	}
	for _, v := range o.Environments {
		out = append(out, v)
	}
	for _, v := range o.Calendar {
		out = append(out, v)
	}
	for _, v := range o.Releases {
		out = append(out, v)
	}
	return out
}

// OrgFromRecords decodes stored records into a sorted org.
func OrgFromRecords(recs []Record) (*Org, error) {
	org := &Org{}
	for _, r := range recs {
		obj, err := r.Decode()
		if err != nil {
			return nil, err
		}
		org.Add(obj)
	}
	org.Sort()
	return org, nil
}
