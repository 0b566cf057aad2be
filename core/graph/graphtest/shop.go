package graphtest

import (
	"time"

	"github.com/warroom/warroom/core/model"
)

// ShopRelease is the name of the release Shop declares.
const ShopRelease = "r1"

// ShopWindow is r1's window: Tuesday 10 June 2025, 20:00 to 08:00 UTC.
var ShopWindow = model.Window{
	Start: time.Date(2025, 6, 10, 20, 0, 0, 0, time.UTC),
	End:   time.Date(2025, 6, 11, 8, 0, 0, 0, time.UTC),
}

// Shop returns a small, realistic, healthy organisation that tests bend to
// their purpose:
//
//	checkout ──payments-api ^3.0──> payments ──gateway-api ^2.0──> paycorp-gateway (vendor paycorp)
//	    │                              └──database──> payments-db
//	    └──orders-api ^1.2──> orders ──payments-api ^3.0──> payments
//	                            └──database──> orders-db
//	notifications ──orders-api ^1.0──> orders
//	reporting ──orders-api ~1.4──> orders, ──database──> orders-db
//
// Environments dev, staging (one region) and prod (us-east, eu-west,
// ap-northeast, each with a low-traffic window); no calendar items; and
// release r1 shipping payments 4.2.0 and orders 2.1.0 in ShopWindow.
func Shop() *model.Org {
	org := &model.Org{
		Teams: []model.Team{
			{Name: "web", Channel: "#web"},
			{Name: "payments-team", Channel: "#payments"},
			{Name: "platform"},
			{Name: "data"},
		},
		Vendors: []model.Vendor{{Name: "paycorp", StatusURL: "https://status.paycorp.example"}},
		Libraries: []model.Library{
			{Name: "auth-lib", Owner: "platform", Versions: []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0"}},
			{Name: "log-lib", Owner: "platform", Versions: []string{"3.0.0", "3.1.0", "4.0.0"}},
		},
		Services: []model.Service{
			{Name: "orders-db", Owner: "data", Tier: 0, Kind: model.Database, Version: "14.0.0"},
			{Name: "payments-db", Owner: "data", Tier: 0, Kind: model.Database, Version: "14.0.0"},
			{Name: "paycorp-gateway", Owner: "paycorp", Tier: 1, Version: "2024.1.0",
				Provides: []model.APIProvision{{API: "gateway-api", Version: "2.3.0"}}},
			{Name: "payments", Owner: "payments-team", Tier: 0, Version: "4.1.0",
				Provides:  []model.APIProvision{{API: "payments-api", Version: "3.2.0"}},
				Requires:  []model.APIRequirement{{API: "gateway-api", Range: "^2.0"}},
				Databases: []string{"payments-db"},
				Libraries: []model.LibraryUse{{Name: "auth-lib", Version: "1.2.0"}, {Name: "log-lib", Version: "3.1.0"}}},
			{Name: "orders", Owner: "web", Tier: 1, Version: "2.0.0",
				Provides:  []model.APIProvision{{API: "orders-api", Version: "1.4.0"}},
				Requires:  []model.APIRequirement{{API: "payments-api", Range: "^3.0"}},
				Databases: []string{"orders-db"},
				Libraries: []model.LibraryUse{{Name: "auth-lib", Version: "1.2.0"}}},
			{Name: "checkout", Owner: "web", Tier: 0, Version: "4.1.0",
				Provides:  []model.APIProvision{{API: "checkout-api", Version: "1.0.0"}},
				Requires:  []model.APIRequirement{{API: "payments-api", Range: "^3.0"}, {API: "orders-api", Range: "^1.2"}},
				Libraries: []model.LibraryUse{{Name: "auth-lib", Version: "1.1.0", Range: "^1.1"}}},
			{Name: "notifications", Owner: "platform", Tier: 3, Version: "1.0.0",
				Requires: []model.APIRequirement{{API: "orders-api", Range: "^1.0"}}},
			{Name: "reporting", Owner: "data", Tier: 2, Version: "0.9.0",
				Requires:  []model.APIRequirement{{API: "orders-api", Range: "~1.4"}},
				Databases: []string{"orders-db"}},
		},
		Gates: []model.Gate{{Name: "tests", Kind: model.GateTests}, {Name: "security", Kind: model.GateSecurity}},
		Environments: []model.Environment{
			{Name: "dev", Order: 1, Data: model.DataSynthetic},
			{Name: "staging", Order: 2, Data: model.DataMasked, Gates: []string{"tests"},
				Regions: []model.Region{{Name: "eu-staging", TimeZone: "Europe/Berlin"}}},
			{Name: "prod", Order: 3, Production: true, Data: model.DataProduction, Approval: true,
				Approvers: []string{"platform"}, Gates: []string{"tests", "security"},
				Regions: []model.Region{
					{Name: "us-east", TimeZone: "America/New_York", LowTraffic: model.DailyWindow{Start: "02:00", End: "05:00"}, Weight: 50},
					{Name: "eu-west", TimeZone: "Europe/Berlin", LowTraffic: model.DailyWindow{Start: "01:00", End: "04:00"}, Weight: 30},
					{Name: "ap-northeast", TimeZone: "Asia/Tokyo", LowTraffic: model.DailyWindow{Start: "03:00", End: "06:00"}, Weight: 20},
				}},
		},
		Releases: []model.Release{{
			Name: ShopRelease, Owner: "web", Class: model.ClassNormal, Window: ShopWindow,
			Scope: []model.ScopeItem{
				{Service: "payments", Version: "4.2.0"},
				{Service: "orders", Version: "2.1.0"},
			},
		}},
	}
	org.Sort()
	return org
}

// ShopWith returns Shop after edit has changed its release r1 (and
// anything else it likes), with the org sorted and indexed.
func ShopWith(edit func(org *model.Org, r1 *model.Release)) (*model.Index, *model.Release) {
	org := Shop()
	if edit != nil {
		edit(org, &org.Releases[0])
	}
	org.Sort()
	ix := model.NewIndex(org)
	return ix, ix.Releases[ShopRelease]
}
