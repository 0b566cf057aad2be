package graphtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Release is the name of the release SyntheticOrg declares.
const Release = "synthetic-train"

// Window is the synthetic release's window.
var Window = model.Window{
	Start: time.Date(2025, 6, 10, 20, 0, 0, 0, time.UTC),
	End:   time.Date(2025, 6, 11, 8, 0, 0, 0, time.UTC),
}

// SyntheticOrg returns an organisation of n services in ten layers, each
// service requiring about three APIs of lower layers (and one in five a
// database of the bottom layer), plus a release shipping `scope` of them,
// spread over every layer, with a handful of migrations.
func SyntheticOrg(n, scope int) *model.Org {
	rng := rand.New(rand.NewPCG(20250610, 1))
	const layers = 10
	org := &model.Org{}
	for t := range 20 {
		org.Teams = append(org.Teams, model.Team{Name: fmt.Sprintf("team-%02d", t)})
	}
	org.Vendors = []model.Vendor{{Name: "acme-cloud"}, {Name: "paycorp"}}
	for l := range 10 {
		org.Libraries = append(org.Libraries, model.Library{
			Name: fmt.Sprintf("lib-%d", l), Owner: "team-00",
			Versions: []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0"},
		})
	}
	per := max(n/layers, 1)
	layerOf := func(i int) int { return min(i/per, layers-1) }
	name := func(i int) string { return fmt.Sprintf("svc-%05d", i) }
	isDB := func(i int) bool { return layerOf(i) == 0 && i%4 == 0 }
	var dbs []int
	for i := range n {
		s := model.Service{
			Name:    name(i),
			Owner:   fmt.Sprintf("team-%02d", i%20),
			Tier:    model.Tier(i % 4),
			Kind:    model.Stateless,
			Version: fmt.Sprintf("1.%d.0", i%7),
		}
		if i%97 == 0 {
			s.Owner = "acme-cloud"
		}
		if isDB(i) {
			s.Kind = model.Database
			dbs = append(dbs, i)
		} else {
			s.Provides = []model.APIProvision{{API: "api-" + name(i), Version: fmt.Sprintf("1.%d.0", i%5)}}
		}
		if l := layerOf(i); l > 0 {
			for k := 0; k < 3; k++ {
				j := rng.IntN(l * per)
				for isDB(j) {
					j = (j + 1) % (l * per)
				}
				s.Requires = append(s.Requires, model.APIRequirement{API: "api-" + name(j), Range: "^1.0"})
			}
			if i%5 == 0 && len(dbs) > 0 {
				s.Databases = []string{name(dbs[rng.IntN(len(dbs))])}
			}
		}
		s.Libraries = []model.LibraryUse{
			{Name: fmt.Sprintf("lib-%d", i%10), Version: "1.2.0", Range: "^1.1"},
			{Name: fmt.Sprintf("lib-%d", (i+3)%10), Version: fmt.Sprintf("1.%d.0", 1+i%3)},
		}
		org.Services = append(org.Services, s)
	}
	org.Environments = []model.Environment{
		{Name: "dev", Order: 1},
		{Name: "staging", Order: 2, Regions: []model.Region{{Name: "eu-staging", TimeZone: "Europe/Berlin"}}, Gates: []string{"tests"}},
		{Name: "prod", Order: 3, Production: true, Approval: true, Gates: []string{"tests", "security"}, Regions: []model.Region{
			{Name: "us-east", TimeZone: "America/New_York", LowTraffic: model.DailyWindow{Start: "02:00", End: "05:00"}, Weight: 50},
			{Name: "eu-west", TimeZone: "Europe/Berlin", LowTraffic: model.DailyWindow{Start: "01:00", End: "04:00"}, Weight: 30},
			{Name: "ap-northeast", TimeZone: "Asia/Tokyo", LowTraffic: model.DailyWindow{Start: "03:00", End: "06:00"}, Weight: 20},
		}},
	}
	org.Gates = []model.Gate{{Name: "tests", Kind: model.GateTests}, {Name: "security", Kind: model.GateSecurity}}
	org.Calendar = []model.CalendarItem{
		{Name: "year-end-freeze", Kind: model.Freeze, Start: time.Date(2025, 12, 20, 0, 0, 0, 0, time.UTC),
			End: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)},
		{Name: "campaign", Kind: model.Business, Impact: "high", Start: time.Date(2025, 6, 12, 0, 0, 0, 0, time.UTC),
			End: time.Date(2025, 6, 14, 0, 0, 0, 0, time.UTC)},
		{Name: "acme-patching", Kind: model.VendorEvent, Vendor: "acme-cloud",
			Weekly: &model.Weekly{Days: []string{"sat"}, Start: "22:00", End: "02:00", TimeZone: "UTC"}},
	}
	rel := model.Release{Name: Release, Class: model.ClassNormal, Window: Window, Owner: "team-00"}
	step := max(n/max(scope, 1), 1)
	for i := 0; i < n && len(rel.Scope) < scope; i += step {
		s := org.Services[i]
		it := model.ScopeItem{Service: s.Name, Version: "2.0.0"}
		if len(s.Provides) > 0 {
			it.Provides = []model.APIProvision{{API: s.Provides[0].API, Version: "1.9.0"}}
		}
		rel.Scope = append(rel.Scope, it)
	}
	for k := 0; k < 5 && k < len(dbs); k++ {
		rel.Migrations = append(rel.Migrations, model.Migration{
			Name:      fmt.Sprintf("migration-%d", k),
			Databases: []string{name(dbs[k])},
			Expand:    &model.MigrationStep{Description: "add columns"},
			Migrate:   &model.MigrationStep{Description: "backfill"},
			Contract:  &model.MigrationStep{Description: "drop old columns"},
		})
	}
	org.Releases = []model.Release{rel}
	org.Sort()
	return org
}
