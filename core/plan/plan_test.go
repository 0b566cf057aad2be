package plan_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the binary embeds it too: results must not depend on the host

	"github.com/warroom/warroom/core/graph/graphtest"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

func build(t testing.TB, edit func(*model.Org, *model.Release)) *plan.Plan {
	t.Helper()
	ix, rel := graphtest.ShopWith(edit)
	p, err := plan.Build(ix, rel.Name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func kinds(is []plan.Issue) []string {
	var out []string
	for _, i := range is {
		out = append(out, i.Kind)
	}
	return out
}

func tier(t model.Tier) *model.Tier { return &t }

func setService(o *model.Org, name string, edit func(*model.Service)) {
	for i := range o.Services {
		if o.Services[i].Name == name {
			edit(&o.Services[i])
			return
		}
	}
	panic("no service " + name)
}

func TestBlockersAndWarnings(t *testing.T) {
	freeze := model.CalendarItem{Name: "june-freeze", Kind: model.Freeze, Start: graphtest.ShopWindow.Start.Add(-time.Hour),
		End: graphtest.ShopWindow.End.Add(time.Hour), Exceptions: &model.FreezeExceptions{
			Classes: []model.ChangeClass{model.ClassEmergency}, Approvers: []string{"platform"}, MaxTier: tier(0)}}
	tests := []struct {
		name     string
		edit     func(*model.Org, *model.Release)
		blockers []string
		warnings []string
		contains string // in some blocker's or warning's message
		services []string
	}{
		{name: "healthy release"},
		{
			name: "unknown service",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = append(r.Scope, model.ScopeItem{Service: "loyalty", Version: "1.0.0"})
			},
			blockers: []string{"unknown-service"}, contains: "ships loyalty 1.0.0, which is not in the service catalogue",
			services: []string{"loyalty"},
		},
		{
			name: "no owner, and an owner nobody knows",
			edit: func(o *model.Org, r *model.Release) {
				setService(o, "payments", func(s *model.Service) { s.Owner = "" })
				setService(o, "orders", func(s *model.Service) { s.Owner = "ghost-team" })
			},
			blockers: []string{"no-owner", "no-owner"}, contains: "orders is owned by ghost-team, which is neither a team nor a vendor",
			services: []string{"orders"},
		},
		{
			name: "vendor owners are owners",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{{Service: "paycorp-gateway", Version: "2024.2.0"}}
			},
		},
		{
			name: "incompatible after the release",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{{Service: "payments", Version: "5.0.0", Provides: []model.APIProvision{{API: "payments-api", Version: "4.0.0"}}}}
			},
			blockers: []string{"incompatible", "incompatible"},
			contains: "checkout 4.1.0 requires payments-api ^3.0 but payments 5.0.0 provides 4.0.0",
			services: []string{"checkout", "payments"},
		},
		{
			name: "incompatible during the rollout only",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope = []model.ScopeItem{
					{Service: "payments", Version: "5.0.0", Provides: []model.APIProvision{{API: "payments-api", Version: "4.0.0"}}},
					{Service: "orders", Version: "2.1.0", Requires: []model.APIRequirement{{API: "payments-api", Range: ">=3.2 <5"}}},
					{Service: "checkout", Version: "4.2.0", Requires: []model.APIRequirement{{API: "payments-api", Range: "^4"}, {API: "orders-api", Range: "^1.2"}}},
				}
			},
			blockers: []string{"incompatible", "incompatible"},
			warnings: []string{"library-conflict"}, // checkout bundles auth-lib 1.1.0
			contains: "during the rollout, orders 2.0.0 (until its own wave) requires payments-api ^3.0 but payments 5.0.0 provides 4.0.0",
			services: []string{"orders", "payments"},
		},
		{
			name: "existing breakage outside the scope only warns",
			edit: func(o *model.Org, r *model.Release) {
				setService(o, "reporting", func(s *model.Service) { s.Requires[0].Range = "~1.3" })
				r.Scope = r.Scope[:1] // payments only: orders, reporting's provider, stays
			},
			warnings: []string{"incompatible"}, contains: "already broken before this release",
		},
		{
			// orders ships at an unchanged orders-api 1.4.0, so the break
			// predates the release; it involves the scope all the same.
			name: "old breakage touching the scope blocks",
			edit: func(o *model.Org, r *model.Release) {
				setService(o, "reporting", func(s *model.Service) { s.Requires[0].Range = "~1.3" })
			},
			blockers: []string{"incompatible"}, contains: "reporting 0.9.0 requires orders-api ~1.3 but orders 2.1.0 provides 1.4.0",
			services: []string{"reporting", "orders"},
		},
		{
			name: "cycle, with the rest of the plan still built",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope[0].Requires = []model.APIRequirement{{API: "gateway-api", Range: "^2"}, {API: "orders-api", Range: "^1"}}
			},
			blockers: []string{"cycle"}, contains: "orders -> payments -> orders", services: []string{"orders", "payments"},
		},
		{
			name:     "freeze blocks a normal release",
			edit:     func(o *model.Org, r *model.Release) { o.Calendar = []model.CalendarItem{freeze} },
			blockers: []string{"freeze"}, contains: "a normal change is not an exception it allows (only emergency)",
		},
		{
			name: "emergency release through the freeze gets a warning",
			edit: func(o *model.Org, r *model.Release) {
				o.Calendar = []model.CalendarItem{freeze}
				r.Class = model.ClassEmergency
			},
			warnings: []string{"freeze"}, contains: "allowed through its exception policy as a emergency change; the exception needs sign-off from platform",
		},
		{
			name: "emergency release of a service too critical for the exception",
			edit: func(o *model.Org, r *model.Release) {
				f := freeze
				f.Exceptions = &model.FreezeExceptions{Classes: []model.ChangeClass{model.ClassEmergency}, MaxTier: tier(1)}
				o.Calendar = []model.CalendarItem{f}
				r.Class = model.ClassEmergency
			},
			blockers: []string{"freeze"}, contains: "payments (tier 0) is more critical",
		},
		{
			name: "outside prod's maintenance windows",
			edit: func(o *model.Org, r *model.Release) {
				o.Calendar = []model.CalendarItem{{Name: "prod-nightly", Kind: model.Maintenance, Environments: []string{"prod"},
					Weekly: &model.Weekly{Days: []string{"tue", "wed"}, Start: "22:00", End: "04:00", TimeZone: "UTC"}}}
			},
			blockers: []string{"maintenance-window"}, contains: "is not inside a maintenance window of prod (prod-nightly)",
		},
		{
			name: "inside prod's maintenance window",
			edit: func(o *model.Org, r *model.Release) {
				o.Calendar = []model.CalendarItem{{Name: "prod-long", Kind: model.Maintenance, Environments: []string{"prod"},
					Weekly: &model.Weekly{Days: []string{"tue"}, Start: "18:00", End: "10:00", TimeZone: "UTC"}}}
			},
		},
		{
			name: "library conflict nobody can resolve",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope[0].Libraries = []model.LibraryUse{{Name: "log-lib", Version: "4.0.0"}}
				r.Scope[1].Libraries = []model.LibraryUse{{Name: "log-lib", Version: "3.1.0"}}
			},
			blockers: []string{"library-conflict"},
			contains: "shared library log-lib, owned by platform, is used at 4.0.0 (payments ^4.0.0) and 3.1.0 (orders ^3.1.0); no released version satisfies every range",
			services: []string{"orders", "payments"},
		},
		{
			name: "library conflict with versions that satisfy everyone",
			edit: func(o *model.Org, r *model.Release) {
				r.Scope[0].Libraries = []model.LibraryUse{{Name: "auth-lib", Version: "1.1.0", Range: "^1.1"}}
			},
			warnings: []string{"library-conflict"}, contains: "1.3.0, 1.2.0 would satisfy everyone",
		},
		{
			name: "business event and vendor window warn",
			edit: func(o *model.Org, r *model.Release) {
				o.Calendar = []model.CalendarItem{
					{Name: "summer-sale", Kind: model.Business, Impact: "high", Start: graphtest.ShopWindow.Start, End: graphtest.ShopWindow.End},
					{Name: "paycorp-maint", Kind: model.VendorEvent, Vendor: "paycorp", Start: graphtest.ShopWindow.Start, End: graphtest.ShopWindow.End},
				}
			},
			warnings: []string{"business-event", "vendor-window"}, contains: "the release depends on paycorp-gateway",
		},
		{
			name:     "unknown environment",
			edit:     func(o *model.Org, r *model.Release) { r.Environments = []string{"staging", "qa"} },
			blockers: []string{"unknown-environment"}, contains: "environment qa, which is not declared",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := build(t, tc.edit)
			if got := kinds(p.Blockers); !reflect.DeepEqual(got, tc.blockers) {
				t.Errorf("blockers = %v, want %v\n%+v", got, tc.blockers, p.Blockers)
			}
			if got := kinds(p.Warnings); !reflect.DeepEqual(got, tc.warnings) {
				t.Errorf("warnings = %v, want %v\n%+v", got, tc.warnings, p.Warnings)
			}
			if p.Blocked() != (len(tc.blockers) > 0) {
				t.Errorf("Blocked() = %v", p.Blocked())
			}
			if tc.contains != "" {
				found := false
				for _, i := range append(append([]plan.Issue{}, p.Blockers...), p.Warnings...) {
					if strings.Contains(i.Message, tc.contains) {
						found = true
						if tc.services != nil && !reflect.DeepEqual(i.Services, tc.services) {
							t.Errorf("services = %v, want %v", i.Services, tc.services)
						}
					}
				}
				if !found {
					t.Errorf("no issue says %q:\nblockers %+v\nwarnings %+v", tc.contains, p.Blockers, p.Warnings)
				}
			}
			// Whatever blocks, the rest of the plan is there.
			if len(p.Environments) == 0 || p.Release != graphtest.ShopRelease {
				t.Errorf("plan incomplete: %+v", p)
			}
		})
	}
}

func TestWaveOrdering(t *testing.T) {
	p := build(t, func(o *model.Org, r *model.Release) {
		r.Scope = []model.ScopeItem{
			{Service: "checkout", Version: "4.2.0"}, {Service: "orders", Version: "2.1.0"},
			{Service: "orders-db", Version: "15.0.0"}, {Service: "payments", Version: "4.2.0"},
			{Service: "reporting", Version: "1.0.0"},
		}
		r.Migrations = []model.Migration{{Name: "orders-split", Databases: []string{"orders-db"},
			Expand: &model.MigrationStep{Description: "add columns"}, Migrate: &model.MigrationStep{Description: "backfill"},
			Contract: &model.MigrationStep{Description: "drop old columns"}}}
	})
	var got []string
	for _, w := range p.Waves {
		s := fmt.Sprintf("%d:%s", w.Index, strings.Join(w.Services, ","))
		for _, m := range w.Migrations {
			s += " " + string(m.Phase)
		}
		got = append(got, s)
	}
	// Providers before consumers (payments < orders < checkout, reporting);
	// the database before its expand, expand before orders and reporting,
	// contract after both.
	want := []string{"1:orders-db,payments", "2: expand", "3:orders migrate", "4:checkout,reporting", "5: contract"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("waves = %q, want %q", got, want)
	}
	if p.Blocked() {
		t.Errorf("blockers: %+v", p.Blockers)
	}
}

func TestEnvironmentsAndRegions(t *testing.T) {
	tests := []struct {
		name  string
		start time.Time
		order []string // prod regions
		first model.Window
	}{
		{
			// 20:00Z: Tokyo's 03:00-06:00 JST is in progress (18-21Z),
			// Berlin's 01:00 CEST comes at 23Z, New York's 02:00 EDT at 06Z.
			name: "evening UTC", start: time.Date(2025, 6, 10, 20, 0, 0, 0, time.UTC),
			order: []string{"ap-northeast", "eu-west", "us-east"},
			first: model.Window{Start: time.Date(2025, 6, 10, 18, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 10, 21, 0, 0, 0, time.UTC)},
		},
		{
			name: "early morning UTC", start: time.Date(2025, 6, 11, 3, 0, 0, 0, time.UTC),
			order: []string{"us-east", "ap-northeast", "eu-west"},
			first: model.Window{Start: time.Date(2025, 6, 11, 6, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 11, 9, 0, 0, 0, time.UTC)},
		},
		{
			// In January New York is on EST: 02:00 is 07Z, Berlin's 01:00 CET is 00Z.
			name: "winter", start: time.Date(2025, 1, 14, 23, 30, 0, 0, time.UTC),
			order: []string{"eu-west", "us-east", "ap-northeast"},
			first: model.Window{Start: time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 1, 15, 3, 0, 0, 0, time.UTC)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := build(t, func(o *model.Org, r *model.Release) {
				r.Window = model.Window{Start: tc.start, End: tc.start.Add(24 * time.Hour)}
			})
			var names []string
			for _, e := range p.Environments {
				names = append(names, e.Name)
			}
			if !reflect.DeepEqual(names, []string{"dev", "staging", "prod"}) {
				t.Fatalf("environments = %v", names)
			}
			prod := p.Environments[2]
			if !prod.Production || !prod.Approval || !reflect.DeepEqual(prod.Gates, []string{"tests", "security"}) || prod.Order != 3 {
				t.Errorf("prod = %+v", prod)
			}
			var order []string
			for _, r := range prod.Regions {
				order = append(order, r.Name)
			}
			if !reflect.DeepEqual(order, tc.order) {
				t.Errorf("prod regions = %v, want %v", order, tc.order)
			}
			if lt := prod.Regions[0].LowTraffic; lt == nil || *lt != tc.first {
				t.Errorf("first low-traffic window = %v, want %v", lt, tc.first)
			}
			if p.Environments[1].Regions[0].LowTraffic != nil {
				t.Error("non-production regions are not timed")
			}
		})
	}

	p := build(t, func(o *model.Org, r *model.Release) { r.Environments = []string{"prod", "dev"} })
	if len(p.Environments) != 2 || p.Environments[0].Name != "dev" || p.Environments[1].Name != "prod" {
		t.Errorf("a release's own list comes in promotion order: %+v", p.Environments)
	}
	p = build(t, func(o *model.Org, r *model.Release) { r.Window.End = r.Window.Start.Add(time.Hour) })
	if !reflect.DeepEqual(kinds(p.Warnings), []string{"low-traffic", "low-traffic"}) {
		t.Errorf("a short window misses eu-west's and us-east's low traffic: %+v", p.Warnings)
	}
}

func TestSteps(t *testing.T) {
	p := build(t, nil)
	var got []string
	for _, s := range p.Steps {
		got = append(got, fmt.Sprintf("%d %s w%d %s %s", s.Index, s.Environment, s.Wave, s.Service, s.Region))
	}
	want := []string{
		"1 dev w1 payments ", "2 dev w2 orders ",
		"3 staging w1 payments eu-staging", "4 staging w2 orders eu-staging",
		"5 prod w1 payments ap-northeast", "6 prod w1 payments eu-west", "7 prod w1 payments us-east",
		"8 prod w2 orders ap-northeast", "9 prod w2 orders eu-west", "10 prod w2 orders us-east",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps:\n got %q\nwant %q", got, want)
	}
	s := p.Steps[4]
	if s.FromVersion != "4.1.0" || s.Version != "4.2.0" || s.NotBefore == nil || !s.NotBefore.Equal(time.Date(2025, 6, 10, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("step 5 = %+v", s)
	}
	if p.Steps[2].NotBefore != nil {
		t.Error("staging steps are not timed")
	}

	p = build(t, func(o *model.Org, r *model.Release) {
		r.Environments = []string{"dev"}
		r.Migrations = []model.Migration{{Name: "pay-idx", Databases: []string{"payments-db"}, Expand: &model.MigrationStep{}}}
	})
	got = nil
	for _, s := range p.Steps {
		got = append(got, fmt.Sprintf("w%d %s%s/%s", s.Wave, s.Service, s.Migration, s.Phase))
	}
	want = []string{"w1 pay-idx/expand", "w2 payments/", "w3 orders/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("steps with a migration = %q, want %q", got, want)
	}
}

func TestJSONContract(t *testing.T) {
	p := build(t, func(o *model.Org, r *model.Release) {
		r.Scope[0].Libraries = []model.LibraryUse{{Name: "auth-lib", Version: "2.0.0"}}
	})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Release string `json:"release"`
		Waves   []struct {
			Index      int               `json:"index"`
			Services   []string          `json:"services"`
			Migrations []json.RawMessage `json:"migrations"`
		} `json:"waves"`
		Blockers []struct {
			Kind     string   `json:"kind"`
			Message  string   `json:"message"`
			Services []string `json:"services"`
		} `json:"blockers"`
		Environments []map[string]any `json:"environments"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Release != "r1" || len(doc.Waves) != 2 || doc.Waves[0].Index != 1 || doc.Waves[0].Services[0] != "payments" ||
		doc.Waves[0].Migrations == nil || len(doc.Blockers) != 1 || doc.Blockers[0].Kind != "library-conflict" {
		t.Errorf("json = %s", b)
	}
	for _, key := range []string{`"class":"normal"`, `"window":{`, `"steps":[`, `"compatibility":[]`, `"library_conflicts":[{`,
		`"calendar":[]`, `"warnings":[]`, `"production":true`, `"time_zone":"Asia/Tokyo"`, `"low_traffic":{"start":"2025-06-10T18:00:00Z"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("json lacks %s", key)
		}
	}
	if doc.Environments[2]["name"] != "prod" || doc.Environments[2]["gates"] == nil {
		t.Errorf("environments = %v", doc.Environments)
	}
}

func TestUnknownRelease(t *testing.T) {
	ix, _ := graphtest.ShopWith(nil)
	if _, err := plan.Build(ix, "r99"); !errors.Is(err, plan.ErrUnknownRelease) {
		t.Errorf("err = %v", err)
	}
}

func TestSyntheticPlan(t *testing.T) {
	ix := model.NewIndex(graphtest.SyntheticOrg(5000, 500))
	p, err := plan.Build(ix, graphtest.Release)
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked() || len(p.Services) != 500 || len(p.Waves) < 3 {
		t.Errorf("blocked=%v services=%d waves=%d blockers=%+v", p.Blocked(), len(p.Services), len(p.Waves), p.Blockers)
	}
	// Providers always in an earlier wave than their consumers.
	wave := map[string]int{}
	for _, w := range p.Waves {
		for _, s := range w.Services {
			wave[s] = w.Index
		}
	}
	for name := range wave {
		svc := ix.Services[name]
		for _, r := range svc.Requires {
			prov := "svc-" + strings.TrimPrefix(r.API, "api-svc-")
			if pw, ok := wave[prov]; ok && pw >= wave[name] {
				t.Fatalf("%s (wave %d) before its provider %s (wave %d)", name, wave[name], prov, pw)
			}
		}
	}
}

func BenchmarkPlan5000(b *testing.B) {
	ix := model.NewIndex(graphtest.SyntheticOrg(5000, 500))
	b.ResetTimer()
	for b.Loop() {
		p, err := plan.Build(ix, graphtest.Release)
		if err != nil || p.Blocked() {
			b.Fatal(err, p.Blockers)
		}
	}
}
