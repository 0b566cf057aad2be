package graph_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/graph/graphtest"
	"github.com/warroom/warroom/core/model"
)

func TestNodesAndEdges(t *testing.T) {
	ix, rel := graphtest.ShopWith(nil)
	g := graph.ForRelease(ix, rel)

	var edges []string
	for _, e := range g.Edges() {
		edges = append(edges, fmt.Sprintf("%s->%s %s %s %v", e.From, e.To, e.Kind, e.API, e.Satisfied))
	}
	want := []string{
		"checkout->orders api orders-api true",
		"checkout->payments api payments-api true",
		"notifications->orders api orders-api true",
		"orders->orders-db database  true",
		"orders->payments api payments-api true",
		"payments->paycorp-gateway api gateway-api true",
		"payments->payments-db database  true",
		"reporting->orders api orders-api true",
		"reporting->orders-db database  true",
	}
	if !reflect.DeepEqual(edges, want) {
		t.Errorf("edges:\n got %q\nwant %q", edges, want)
	}

	nodes := g.Nodes()
	if len(nodes) != 8 || nodes[0].Name != "checkout" {
		t.Fatalf("nodes = %+v", nodes)
	}
	for _, n := range nodes {
		switch n.Name {
		case "payments":
			if !n.InScope || n.FromVersion != "4.1.0" || n.ToVersion != "4.2.0" || n.Version != "4.2.0" {
				t.Errorf("payments node = %+v", n)
			}
		case "checkout":
			if n.InScope || n.FromVersion != "" || n.Version != "4.1.0" {
				t.Errorf("checkout node = %+v", n)
			}
		}
	}

	// The -o json contract: {"nodes":[{"name":...}], "edges":[{"from": consumer, "to": provider}]}.
	b, err := json.Marshal(map[string]any{"nodes": nodes, "edges": g.Edges()})
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"name":"checkout"`, `"in_scope":true`, `"from_version":"4.1.0"`,
		`"from":"checkout","to":"payments","kind":"api","api":"payments-api","range":"^3.0","provider_version":"3.2.0","satisfied":true`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("json lacks %s:\n%s", frag, b)
		}
	}
}

func TestUnresolvedAndDuplicateProviders(t *testing.T) {
	org := graphtest.Shop()
	org.Services = append(org.Services,
		model.Service{Name: "ledger", Version: "1.0.0", Requires: []model.APIRequirement{{API: "nowhere-api", Range: "^1"}},
			Databases: []string{"ghost-db"}},
		// A second provider of payments-api: the first by name wins.
		model.Service{Name: "zz-payments", Version: "9.0.0", Provides: []model.APIProvision{{API: "payments-api", Version: "9.0.0"}}},
	)
	g := graph.New(org)
	if got := len(g.Unresolved()); got != 2 {
		t.Errorf("unresolved = %+v", g.Unresolved())
	}
	if deps := g.Dependencies("checkout"); !reflect.DeepEqual(deps, []string{"orders", "payments"}) {
		t.Errorf("checkout depends on %v", deps)
	}
}

func TestCompatibility(t *testing.T) {
	type want struct{ consumer, provider, api, phase, kind, reason string }
	tests := []struct {
		name string
		edit func(*model.Org, *model.Release)
		want []want
		msg  string // the first incompatibility's message
	}{
		{name: "healthy release", want: nil},
		{
			name: "provider major bump breaks consumers outside the scope",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{{Service: "payments", Version: "5.0.0",
					Provides: []model.APIProvision{{API: "payments-api", Version: "4.0.0"}}}}
			},
			want: []want{
				{"checkout", "payments", "payments-api", "after", "release", "range"},
				{"orders", "payments", "payments-api", "after", "release", "range"},
			},
			msg: "checkout 4.1.0 requires payments-api ^3.0 but payments 5.0.0 provides 4.0.0",
		},
		{
			name: "consumer upgraded with the provider still breaks between waves",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{
					{Service: "payments", Version: "5.0.0", Provides: []model.APIProvision{{API: "payments-api", Version: "4.0.0"}}},
					{Service: "checkout", Version: "4.2.0", Requires: []model.APIRequirement{
						{API: "payments-api", Range: "^3.0 || ^4.0"}, {API: "orders-api", Range: "^1.2"}}},
					{Service: "orders", Version: "2.1.0", Requires: []model.APIRequirement{{API: "payments-api", Range: "^4.0"}}},
				}
			},
			// Both new builds accept 4.0, but until their wave the old
			// builds, at ^3.0, call a payments that speaks 4.0.
			want: []want{
				{"checkout", "payments", "payments-api", "during", "release", "range"},
				{"orders", "payments", "payments-api", "during", "release", "range"},
			},
			msg: "during the rollout, checkout 4.1.0 (until its own wave) requires payments-api ^3.0 but payments 5.0.0 provides 4.0.0",
		},
		{
			name: "provider drops an API",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{
					{Service: "payments", Version: "5.0.0", Provides: []model.APIProvision{{API: "payments-v2-api", Version: "1.0.0"}}},
					{Service: "orders", Version: "2.1.0", Requires: []model.APIRequirement{{API: "payments-v2-api", Range: "^1.0"}}},
				}
			},
			want: []want{
				{"checkout", "payments", "payments-api", "after", "release", "missing"},
				{"orders", "payments", "payments-api", "during", "release", "missing"},
			},
			msg: "checkout 4.1.0 requires payments-api ^3.0 but payments 5.0.0 no longer provides it",
		},
		{
			name: "in-scope consumer needs an API nobody provides",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{{Service: "orders", Version: "2.1.0", Requires: []model.APIRequirement{
					{API: "payments-api", Range: "^3.0"}, {API: "fraud-api", Range: "^1.0"}, {API: "promo-api", Range: "^1", Optional: true}}}}
			},
			want: []want{{"orders", "", "fraud-api", "after", "release", "missing"}},
			msg:  "orders 2.1.0 requires fraud-api ^1.0 but no service provides it",
		},
		{
			name: "catalogue broken outside the scope is existing",
			edit: func(o *model.Org, r *model.Release) {
				for i := range o.Services {
					if o.Services[i].Name == "reporting" {
						o.Services[i].Requires[0].Range = "~1.3"
					}
				}
				r.Scope = []model.ScopeItem{{Service: "payments", Version: "4.2.0"}}
			},
			want: []want{{"reporting", "orders", "orders-api", "after", "existing", "range"}},
		},
		{
			name: "invalid range",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{{Service: "orders", Version: "2.1.0", Requires: []model.APIRequirement{{API: "payments-api", Range: "^^3"}}}}
			},
			want: []want{{"orders", "payments", "payments-api", "after", "release", "invalid"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, rel := graphtest.ShopWith(tc.edit)
			got := graph.Compatibility(ix, rel)
			var gw []want
			for _, i := range got {
				gw = append(gw, want{i.Consumer, i.Provider, i.API, string(i.Phase), i.Kind, i.Reason})
			}
			if !reflect.DeepEqual(gw, tc.want) {
				t.Fatalf("got %+v\nwant %+v\n(%+v)", gw, tc.want, got)
			}
			if tc.msg != "" && got[0].Message != tc.msg {
				t.Errorf("message = %q\n     want %q", got[0].Message, tc.msg)
			}
		})
	}
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name string
		deps map[string][]string
		want [][]string
	}{
		{"acyclic", map[string][]string{"a": {"b"}, "b": {"c"}}, nil},
		{"triangle", map[string][]string{"b": {"c"}, "c": {"a"}, "a": {"b"}}, [][]string{{"a", "b", "c", "a"}}},
		{"self-loop", map[string][]string{"a": {"a"}, "b": {"a"}}, [][]string{{"a", "a"}}},
		{
			// The greedy smallest-successor walk would circle b <-> c for
			// ever; the search finds the way back to a.
			"cycle through start avoids inner loop",
			map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"b", "d"}, "d": {"a"}},
			[][]string{{"a", "b", "c", "d", "a"}},
		},
		{
			"shortest through smallest",
			map[string][]string{"a": {"b", "x"}, "b": {"c"}, "c": {"a"}, "x": {"a"}},
			[][]string{{"a", "x", "a"}},
		},
		{
			"two components and a self-loop inside one",
			map[string][]string{"p": {"q"}, "q": {"p", "q"}, "a": {"b"}, "b": {"a"}, "z": {}},
			[][]string{{"a", "b", "a"}, {"p", "q", "p"}, {"q", "q"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := graph.FindCycles(nil, tc.deps)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if s := graph.FormatCycle([]string{"a", "b", "c", "a"}); s != "a -> b -> c -> a" {
		t.Errorf("FormatCycle = %q", s)
	}

	org := graphtest.Shop()
	for i := range org.Services {
		if org.Services[i].Name == "paycorp-gateway" { // the gateway calls back into checkout
			org.Services[i].Requires = []model.APIRequirement{{API: "checkout-api", Range: "^1"}}
		}
	}
	got := graph.New(org).Cycles()
	want := [][]string{{"checkout", "payments", "paycorp-gateway", "checkout"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shop cycles = %v, want %v", got, want)
	}
}

func TestBlastRadius(t *testing.T) {
	g := graph.New(graphtest.Shop())
	got := g.BlastRadius("payments")
	var names []string
	for _, d := range got {
		names = append(names, fmt.Sprintf("%s/%d/t%d", d.Name, d.Depth, d.Tier))
	}
	// Direct: checkout (tier 0), orders (tier 1); then through orders:
	// reporting (tier 2), notifications (tier 3).
	want := []string{"checkout/1/t0", "orders/1/t1", "reporting/2/t2", "notifications/2/t3"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("blast radius = %v, want %v", names, want)
	}
	s := graph.Summarize(got)
	if s.Total != 4 || s.Direct != 2 || s.MostCritical != 0 || s.MaxDepth != 2 || s.Count(0) != 1 || s.AtMost(1) != 2 {
		t.Errorf("summary = %+v", s)
	}
	if g.BlastRadius("nope") != nil || len(g.BlastRadius("checkout")) != 0 {
		t.Error("unknown or leaf service should have no blast radius")
	}
	if up := g.Upstream("checkout"); !reflect.DeepEqual(up, []string{"orders", "orders-db", "paycorp-gateway", "payments", "payments-db"}) {
		t.Errorf("upstream of checkout = %v", up)
	}
}

func TestLibraryConflicts(t *testing.T) {
	libs := func(svc string, uses ...model.LibraryUse) model.ScopeItem {
		return model.ScopeItem{Service: svc, Version: "9.9.9", Libraries: uses}
	}
	tests := []struct {
		name       string
		scope      []model.ScopeItem
		catalogue  bool
		wantLib    string
		wantUsers  string
		satisfying []string
	}{
		{
			name:       "resolvable: both accept 1.2 and up",
			scope:      []model.ScopeItem{libs("checkout", model.LibraryUse{Name: "auth-lib", Version: "1.1.0", Range: "^1.1"}), libs("orders", model.LibraryUse{Name: "auth-lib", Version: "1.2.0"})},
			catalogue:  true,
			wantLib:    "auth-lib",
			wantUsers:  "1.2.0:orders(^1.2.0) 1.1.0:checkout(^1.1)",
			satisfying: []string{"1.3.0", "1.2.0"},
		},
		{
			name:       "unresolvable: a major apart",
			scope:      []model.ScopeItem{libs("payments", model.LibraryUse{Name: "log-lib", Version: "4.0.0"}), libs("orders", model.LibraryUse{Name: "log-lib", Version: "3.1"})},
			catalogue:  true,
			wantLib:    "log-lib",
			wantUsers:  "4.0.0:payments(^4.0.0) 3.1.0:orders(^3.1)",
			satisfying: []string{},
		},
		{
			name:       "not in the catalogue: versions in use are the candidates",
			scope:      []model.ScopeItem{libs("payments", model.LibraryUse{Name: "json-lib", Version: "2.5.0", Range: ">=2.0"}), libs("orders", model.LibraryUse{Name: "json-lib", Version: "2.1.0"})},
			wantLib:    "json-lib",
			wantUsers:  "2.5.0:payments(>=2.0) 2.1.0:orders(^2.1.0)",
			satisfying: []string{"2.5.0", "2.1.0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, rel := graphtest.ShopWith(func(o *model.Org, r *model.Release) { r.Scope = tc.scope })
			got := graph.LibraryConflicts(ix, rel)
			if len(got) != 1 {
				t.Fatalf("got %+v", got)
			}
			c := got[0]
			var users []string
			for _, u := range c.Users {
				var ss []string
				for _, s := range u.Services {
					ss = append(ss, s.Name+"("+s.Range+")")
				}
				users = append(users, u.Version+":"+strings.Join(ss, ","))
			}
			if c.Library != tc.wantLib || strings.Join(users, " ") != tc.wantUsers || !reflect.DeepEqual(c.Satisfying, tc.satisfying) {
				t.Errorf("got %s %v satisfying %v", c.Library, users, c.Satisfying)
			}
			if tc.catalogue && c.Owner != "platform" {
				t.Errorf("owner = %q", c.Owner)
			}
		})
	}
}

func TestWaves(t *testing.T) {
	expandOrders := func(consumers ...string) model.Migration {
		return model.Migration{Name: "orders-split", Databases: []string{"orders-db"}, Consumers: consumers,
			Expand: &model.MigrationStep{}, Migrate: &model.MigrationStep{}, Contract: &model.MigrationStep{}}
	}
	in := func(names ...string) []model.ScopeItem {
		var out []model.ScopeItem
		for _, n := range names {
			out = append(out, model.ScopeItem{Service: n, Version: "9.0.0"})
		}
		return out
	}
	tests := []struct {
		name  string
		edit  func(*model.Org, *model.Release)
		want  []string // per wave: "services | migration/phase ..."
		cycle string
	}{
		{
			name: "providers before consumers",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = in("checkout", "notifications", "orders", "payments", "paycorp-gateway")
			},
			want: []string{"paycorp-gateway |", "payments |", "orders |", "checkout notifications |"},
		},
		{
			name: "database first, expand before consumers, contract after all",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = in("orders-db", "orders", "reporting", "notifications")
				r.Migrations = []model.Migration{expandOrders()}
			},
			// orders and reporting use orders-db: they are the consumers.
			want: []string{
				"orders-db |",
				"| orders-split/expand",
				"orders | orders-split/migrate",
				"notifications reporting |",
				"| orders-split/contract",
			},
		},
		{
			name: "declared consumers only; a migration without expand",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = in("orders", "reporting")
				m := expandOrders("reporting")
				m.Expand = nil
				r.Migrations = []model.Migration{m}
			},
			// reporting consumes orders-api, so it follows orders.
			want: []string{"orders | orders-split/migrate", "reporting |", "| orders-split/contract"},
		},
		{
			name: "cycle between services",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{{Service: "payments", Version: "5.0.0", Requires: []model.APIRequirement{
					{API: "gateway-api", Range: "^2.0"}, {API: "orders-api", Range: "^1"}}}, {Service: "orders", Version: "2.1.0"}}
			},
			cycle: "orders -> payments -> orders",
		},
		{
			name: "cycle through a migration",
			edit: func(o *model.Org, r *model.Release) {
				// orders-db's new build calls payments, yet payments needs
				// the expanded schema, which needs the new orders-db.
				r.Scope = []model.ScopeItem{{Service: "orders-db", Version: "15.0.0",
					Requires: []model.APIRequirement{{API: "payments-api", Range: "^3"}}}, {Service: "payments", Version: "4.2.0"}}
				r.Migrations = []model.Migration{expandOrders("payments")}
			},
			cycle: "orders-db -> payments -> migration:orders-split/expand -> orders-db",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, rel := graphtest.ShopWith(tc.edit)
			waves, err := graph.Waves(ix, rel)
			if tc.cycle != "" {
				var ce *graph.CycleError
				if !errors.As(err, &ce) || graph.FormatCycle(ce.Path) != tc.cycle {
					t.Fatalf("err = %v, want cycle %s", err, tc.cycle)
				}
				if !strings.Contains(err.Error(), tc.cycle) {
					t.Errorf("Error() = %q", err.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, w := range waves {
				if w.Index != i+1 {
					t.Errorf("wave %d has index %d", i, w.Index)
				}
				s := strings.Join(w.Services, " ") + " |"
				for _, m := range w.Migrations {
					s += " " + m.Migration + "/" + string(m.Phase)
				}
				got = append(got, strings.TrimSpace(s))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("waves:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRenderings(t *testing.T) {
	ix, rel := graphtest.ShopWith(func(o *model.Org, r *model.Release) {
		r.Scope = []model.ScopeItem{{Service: "payments", Version: "5.0.0",
			Provides: []model.APIProvision{{API: "payments-api", Version: "4.0.0"}}}}
	})
	g := graph.ForRelease(ix, rel)
	dot := g.DOT()
	for _, frag := range []string{
		"digraph warroom {",
		`"payments" [label="payments\n4.1.0 -> 5.0.0 (in scope), tier 0", style="filled,bold"`,
		`"checkout" -> "payments" [label="payments-api ^3.0 (unsatisfied: 4.0.0)", color="#cc0000"`,
		`"orders" -> "orders-db" [label="database", style=dashed];`,
	} {
		if !strings.Contains(dot, frag) {
			t.Errorf("DOT lacks %s\n%s", frag, dot)
		}
	}
	mm := g.Mermaid()
	for _, frag := range []string{
		"flowchart LR",
		`n5["payments<br/>4.1.0 -#62; 5.0.0 (in scope), tier 0"]:::inscope`,
		`n0 ==>|"payments-api ^3.0 (unsatisfied: 4.0.0)"| n5`,
		"linkStyle 1 stroke:#cc0000",
		"classDef inscope",
	} {
		if !strings.Contains(mm, frag) {
			t.Errorf("Mermaid lacks %s\n%s", frag, mm)
		}
	}
	if g.DOT() != dot || graph.ForRelease(ix, rel).Mermaid() != mm {
		t.Error("renderings are not deterministic")
	}
}

func BenchmarkGraph5000(b *testing.B) {
	org := graphtest.SyntheticOrg(5000, 500)
	ix := model.NewIndex(org)
	rel := ix.Releases[graphtest.Release]
	b.ResetTimer()
	for b.Loop() {
		g := graph.ForRelease(ix, rel)
		if len(g.Compatibility()) != 0 {
			b.Fatal("synthetic org should be compatible")
		}
		if _, err := g.Waves(); err != nil {
			b.Fatal(err)
		}
		_ = g.LibraryConflicts()
		_ = g.Cycles()
		_ = g.BlastRadius("svc-00001")
	}
}
