package model

import "testing"

func TestQuorum(t *testing.T) {
	two, zero := 2, 0
	for _, c := range []struct {
		approvals *int
		want      int
	}{{nil, 1}, {&two, 2}, {&zero, 1}} {
		if got := (Environment{Approvals: c.approvals}).Quorum(); got != c.want {
			t.Errorf("Quorum(%v) = %d, want %d", c.approvals, got, c.want)
		}
	}
}

// TestGovernanceRecords: people and policies are records like any other,
// and an environment without approvals encodes as before (its digest is
// unchanged, so existing databases see no change).
func TestGovernanceRecords(t *testing.T) {
	org := &Org{}
	for _, o := range []Object{
		Person{Name: "dana", Logins: []string{"dana"}, Roles: []string{"captain"}, Delegate: false},
		Policy{Name: "p", Actions: map[string][]string{"apply": {"admin"}}, ApprovalTTL: Duration(3600e9)},
	} {
		rec, err := NewRecord(o, "f.yaml:1")
		if err != nil {
			t.Fatal(err)
		}
		back, err := rec.Decode()
		if err != nil {
			t.Fatal(err)
		}
		org.Add(back)
	}
	if len(org.People) != 1 || len(org.Policies) != 1 || len(org.Objects()) != 2 || org.Policies[0].ApprovalTTL.String() != "1h" {
		t.Fatalf("org: %+v", org)
	}
	b, _, err := Canonical(Environment{Name: "dev", Order: 1})
	if err != nil || string(b) != `{"name":"dev","order":1}` {
		t.Errorf("an environment without approvals encodes as %s", b)
	}
	if NewIndex(org).People["dana"] == nil {
		t.Error("index has no people")
	}
}
