package calendar_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the binary embeds it too: results must not depend on the host

	"github.com/warroom/warroom/core/calendar"
	"github.com/warroom/warroom/core/graph/graphtest"
	"github.com/warroom/warroom/core/model"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(a, b string) model.Window { return model.Window{Start: utc(a), End: utc(b)} }

func weekly(tz, start, end string, days ...string) *model.Weekly {
	return &model.Weekly{Days: days, Start: start, End: end, TimeZone: tz}
}

func TestOccurrences(t *testing.T) {
	tests := []struct {
		name     string
		item     model.CalendarItem
		from, to string
		want     []model.Window
	}{
		{
			name: "one-off overlapping, returned whole",
			item: model.CalendarItem{Start: utc("2025-06-09T00:00"), End: utc("2025-06-11T00:00")},
			from: "2025-06-10T20:00", to: "2025-06-11T08:00",
			want: []model.Window{win("2025-06-09T00:00", "2025-06-11T00:00")},
		},
		{
			name: "one-off ending as the range starts does not overlap",
			item: model.CalendarItem{Start: utc("2025-06-09T00:00"), End: utc("2025-06-10T20:00")},
			from: "2025-06-10T20:00", to: "2025-06-11T08:00",
		},
		{
			name: "weekly across midnight, summer time in Berlin",
			item: model.CalendarItem{Weekly: weekly("Europe/Berlin", "22:00", "02:00", "tue", "thu")},
			from: "2025-06-09T00:00", to: "2025-06-16T00:00",
			want: []model.Window{win("2025-06-10T20:00", "2025-06-11T00:00"), win("2025-06-12T20:00", "2025-06-13T00:00")},
		},
		{
			name: "occurrence in progress at the start of the range, begun the day before",
			item: model.CalendarItem{Weekly: weekly("UTC", "22:00", "06:00", "sun")},
			from: "2025-06-09T03:00", to: "2025-06-09T04:00", // Monday
			want: []model.Window{win("2025-06-08T22:00", "2025-06-09T06:00")},
		},
		{
			name: "spring forward: 01:00-04:00 lasts two hours",
			item: model.CalendarItem{Weekly: weekly("Europe/Berlin", "01:00", "04:00", "sun")},
			from: "2025-03-29T00:00", to: "2025-03-31T00:00",
			want: []model.Window{win("2025-03-30T00:00", "2025-03-30T02:00")},
		},
		{
			name: "fall back: 01:00-04:00 lasts four hours",
			item: model.CalendarItem{Weekly: weekly("Europe/Berlin", "01:00", "04:00", "sunday")},
			from: "2025-10-25T00:00", to: "2025-10-27T00:00",
			want: []model.Window{win("2025-10-25T23:00", "2025-10-26T03:00")},
		},
		{
			name: "midnight-crossing window over spring forward loses an hour",
			item: model.CalendarItem{Weekly: weekly("Europe/Berlin", "23:00", "03:00", "sat")},
			from: "2025-03-29T00:00", to: "2025-03-31T00:00",
			want: []model.Window{win("2025-03-29T22:00", "2025-03-30T01:00")},
		},
		{
			name: "start inside the spring-forward gap moves forward",
			item: model.CalendarItem{Weekly: weekly("America/New_York", "02:00", "05:00", "sun")},
			from: "2025-03-08T00:00", to: "2025-03-10T00:00",
			want: []model.Window{win("2025-03-09T07:00", "2025-03-09T09:00")},
		},
		{
			name: "ambiguous start on fall-back night is the first one",
			item: model.CalendarItem{Weekly: weekly("Europe/Berlin", "02:30", "05:00", "sun")},
			from: "2025-10-25T00:00", to: "2025-10-27T00:00",
			want: []model.Window{win("2025-10-26T00:30", "2025-10-26T04:00")},
		},
		{
			name: "clipped to the item's bounds",
			item: model.CalendarItem{Weekly: weekly("UTC", "20:00", "08:00", "mon", "tue", "wed"),
				Start: utc("2025-06-10T00:00"), End: utc("2025-06-11T04:00")},
			from: "2025-06-01T00:00", to: "2025-06-30T00:00",
			want: []model.Window{win("2025-06-10T00:00", "2025-06-10T08:00"), win("2025-06-10T20:00", "2025-06-11T04:00")},
		},
		{
			name: "unknown time zone yields nothing",
			item: model.CalendarItem{Weekly: weekly("Mars/Olympus", "20:00", "08:00", "mon")},
			from: "2025-06-01T00:00", to: "2025-06-30T00:00",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := calendar.Occurrences(tc.item, utc(tc.from), utc(tc.to))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		item model.CalendarItem
		err  string
	}{
		{model.CalendarItem{Name: "ok", Weekly: weekly("Europe/Berlin", "22:00", "02:00", "Mon")}, ""},
		{model.CalendarItem{Name: "tz", Weekly: weekly("Mars/Olympus", "22:00", "02:00", "mon")}, "time zone"},
		{model.CalendarItem{Name: "clock", Weekly: weekly("UTC", "25:00", "02:00", "mon")}, "invalid time of day"},
		{model.CalendarItem{Name: "day", Weekly: weekly("UTC", "22:00", "02:00", "someday")}, "invalid day"},
		{model.CalendarItem{Name: "nodays", Weekly: weekly("UTC", "22:00", "02:00")}, "without days"},
		{model.CalendarItem{Name: "open"}, "needs start and end"},
		{model.CalendarItem{Name: "backwards", Start: utc("2025-06-02T00:00"), End: utc("2025-06-01T00:00")}, "ends"},
	}
	for _, tc := range tests {
		err := calendar.Check(tc.item)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err = %v, want %q", tc.item.Name, err, tc.err)
		}
	}
}

func TestApplies(t *testing.T) {
	item := model.CalendarItem{Environments: []string{"prod"}, Services: []string{"payments"}}
	tests := []struct {
		item     model.CalendarItem
		env      string
		services []string
		want     bool
	}{
		{model.CalendarItem{}, "dev", nil, true},
		{item, "prod", []string{"orders", "payments"}, true},
		{item, "staging", []string{"payments"}, false},
		{item, "prod", []string{"orders"}, false},
		{item, "", []string{"payments"}, true},
	}
	for i, tc := range tests {
		if got := calendar.Applies(tc.item, tc.env, tc.services); got != tc.want {
			t.Errorf("%d: Applies(%v, %q, %v) = %v", i, tc.item, tc.env, tc.services, got)
		}
	}
}

func TestNextLowTraffic(t *testing.T) {
	region := func(tz, start, end string) model.Region {
		return model.Region{Name: "r", TimeZone: tz, LowTraffic: model.DailyWindow{Start: start, End: end}}
	}
	tests := []struct {
		name   string
		region model.Region
		after  string
		want   model.Window
	}{
		{"New York, later that night", region("America/New_York", "02:00", "05:00"), "2025-06-10T20:00", win("2025-06-11T06:00", "2025-06-11T09:00")},
		{"New York, in progress", region("America/New_York", "02:00", "05:00"), "2025-06-11T07:00", win("2025-06-11T06:00", "2025-06-11T09:00")},
		{"New York, just missed", region("America/New_York", "02:00", "05:00"), "2025-06-11T09:00", win("2025-06-12T06:00", "2025-06-12T09:00")},
		{"Tokyo, in progress", region("Asia/Tokyo", "03:00", "06:00"), "2025-06-10T20:00", win("2025-06-10T18:00", "2025-06-10T21:00")},
		{"Berlin across midnight UTC", region("Europe/Berlin", "01:00", "04:00"), "2025-06-10T20:00", win("2025-06-10T23:00", "2025-06-11T02:00")},
		{"New York, spring-forward night", region("America/New_York", "02:00", "05:00"), "2025-03-09T00:00", win("2025-03-09T07:00", "2025-03-09T09:00")},
		{"London, winter", region("Europe/London", "23:30", "03:00"), "2025-01-15T12:00", win("2025-01-15T23:30", "2025-01-16T03:00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := calendar.NextLowTraffic(tc.region, utc(tc.after))
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
			if got.Start.Location() != time.UTC {
				t.Errorf("not in UTC: %v", got.Start)
			}
		})
	}
	if _, err := calendar.NextLowTraffic(model.Region{Name: "x", TimeZone: "UTC"}, utc("2025-06-10T20:00")); !errors.Is(err, calendar.ErrNoLowTraffic) {
		t.Errorf("err = %v, want ErrNoLowTraffic", err)
	}
	if _, err := calendar.NextLowTraffic(region("Nowhere/City", "01:00", "02:00"), utc("2025-06-10T20:00")); err == nil {
		t.Error("want an error for an unknown zone")
	}
}

func tier(t model.Tier) *model.Tier { return &t }

func TestFreezeConflicts(t *testing.T) {
	freeze := func(mod func(*model.CalendarItem)) model.CalendarItem {
		it := model.CalendarItem{Name: "summer-freeze", Kind: model.Freeze, Title: "Summer sale freeze",
			Start: utc("2025-06-10T00:00"), End: utc("2025-06-12T00:00")}
		if mod != nil {
			mod(&it)
		}
		return it
	}
	emergency := &model.FreezeExceptions{Classes: []model.ChangeClass{model.ClassEmergency}, Approvers: []string{"platform"}}
	tests := []struct {
		name    string
		item    model.CalendarItem
		class   model.ChangeClass
		envs    []string
		want    int
		allowed bool
		msg     string
	}{
		{name: "normal release in a freeze without exceptions", item: freeze(nil), want: 1,
			msg: "release r1 (normal) overlaps freeze summer-freeze (\"Summer sale freeze\") (2025-06-10 00:00 to 2025-06-12 00:00 UTC) in dev, staging, prod: the freeze allows no exceptions"},
		{name: "normal release, emergency-only exceptions", item: freeze(func(i *model.CalendarItem) { i.Exceptions = emergency }), want: 1,
			msg: "a normal change is not an exception it allows (only emergency)"},
		{name: "emergency release allowed through", item: freeze(func(i *model.CalendarItem) { i.Exceptions = emergency }),
			class: model.ClassEmergency, want: 1, allowed: true, msg: "needs sign-off from platform"},
		{name: "emergency release, but a tier-0 service beyond the max tier",
			item: freeze(func(i *model.CalendarItem) {
				i.Exceptions = &model.FreezeExceptions{Classes: []model.ChangeClass{model.ClassEmergency}, MaxTier: tier(1)}
			}),
			class: model.ClassEmergency, want: 1, msg: "payments (tier 0) is more critical"},
		{name: "freeze of prod only, release stops at staging", item: freeze(func(i *model.CalendarItem) { i.Environments = []string{"prod"} }),
			envs: []string{"dev", "staging"}},
		{name: "freeze of other services", item: freeze(func(i *model.CalendarItem) { i.Services = []string{"checkout"} })},
		{name: "weekly freeze on other days", item: freeze(func(i *model.CalendarItem) {
			i.Start, i.End, i.Weekly = time.Time{}, time.Time{}, weekly("UTC", "12:00", "18:00", "fri")
		})},
		{name: "weekly freeze that catches the window", item: freeze(func(i *model.CalendarItem) {
			i.Start, i.End, i.Weekly = time.Time{}, time.Time{}, weekly("Europe/Berlin", "09:00", "00:30", "tue")
		}), want: 1, msg: "(2025-06-10 07:00 to 2025-06-10 22:30 UTC)"},
		{name: "a freeze that cannot be evaluated is in force", item: freeze(func(i *model.CalendarItem) {
			i.Weekly = weekly("Mars/Olympus", "00:00", "00:00", "mon")
		}), want: 1, msg: "cannot be evaluated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, rel := graphtest.ShopWith(func(o *model.Org, r *model.Release) {
				o.Calendar = []model.CalendarItem{tc.item}
				r.Class, r.Environments = tc.class, tc.envs
			})
			got := calendar.FreezeConflicts(ix.Org, rel)
			if len(got) != tc.want {
				t.Fatalf("got %d conflicts: %+v", len(got), got)
			}
			if tc.want == 0 {
				return
			}
			c := got[0]
			if c.Allowed != tc.allowed || c.Kind != model.Freeze || c.Item != "summer-freeze" || !strings.Contains(c.Message, tc.msg) {
				t.Errorf("got %+v\nwant allowed=%v, message containing %q", c, tc.allowed, tc.msg)
			}
			if !c.Window.Overlaps(rel.Window) || !c.Window.Contains(c.Overlap) || !rel.Window.Contains(c.Overlap) {
				t.Errorf("window %v / overlap %v do not fit the release window", c.Window, c.Overlap)
			}
		})
	}
}

func TestMaintenanceFit(t *testing.T) {
	nightlyBerlin := model.CalendarItem{Name: "nightly-eu", Kind: model.Maintenance, Environments: []string{"prod"},
		Weekly: weekly("Europe/Berlin", "21:00", "03:00", "mon", "tue", "wed", "thu", "fri", "sat", "sun")}
	morningUTC := model.CalendarItem{Name: "morning-utc", Kind: model.Maintenance, Environments: []string{"prod"},
		Weekly: weekly("UTC", "01:00", "10:00", "wed")}
	tests := []struct {
		name  string
		items []model.CalendarItem
		env   string
		ok    bool
		first model.Window
		next  model.Window // the suggestion of MaintenanceConflicts, zero if none
	}{
		{name: "environment without maintenance windows is unconstrained", items: []model.CalendarItem{nightlyBerlin}, env: "staging", ok: true},
		{
			// 19:00Z-01:00Z Tuesday night joined with 01:00Z-10:00Z
			// Wednesday: 19:00Z to 10:00Z holds 20:00Z-08:00Z.
			name: "union of two items holds the window", items: []model.CalendarItem{nightlyBerlin, morningUTC}, env: "prod", ok: true,
			first: win("2025-06-09T19:00", "2025-06-10T01:00"),
		},
		{
			name: "one item alone is too short", items: []model.CalendarItem{nightlyBerlin}, env: "prod", ok: false,
			first: win("2025-06-09T19:00", "2025-06-10T01:00"),
		},
		{
			name: "a one-off window later in the week is suggested", env: "prod", ok: false,
			items: []model.CalendarItem{nightlyBerlin, {Name: "big-one", Kind: model.Maintenance, Environments: []string{"prod"}, Start: utc("2025-06-14T18:00"), End: utc("2025-06-15T12:00")}},
			first: win("2025-06-09T19:00", "2025-06-10T01:00"),
			next:  win("2025-06-14T18:00", "2025-06-15T12:00"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, rel := graphtest.ShopWith(func(o *model.Org, r *model.Release) { o.Calendar = tc.items })
			ok, windows := calendar.MaintenanceFit(ix.Org, rel, tc.env)
			if ok != tc.ok {
				t.Fatalf("ok = %v, windows %v", ok, windows)
			}
			if !tc.first.Start.IsZero() && (len(windows) == 0 || windows[0] != tc.first) {
				t.Errorf("windows = %v, want first %v", windows, tc.first)
			}
			if tc.ok {
				return
			}
			cs := calendar.MaintenanceConflicts(ix.Org, rel)
			if len(cs) != 1 || cs[0].Environments[0] != tc.env || cs[0].Window != tc.next || cs[0].Allowed {
				t.Fatalf("maintenance conflicts = %+v", cs)
			}
			if tc.next.Start.IsZero() != strings.Contains(cs[0].Message, "no maintenance window within a week") {
				t.Errorf("message = %q", cs[0].Message)
			}
		})
	}
}

func TestEventConflicts(t *testing.T) {
	campaign := model.CalendarItem{Name: "campaign", Kind: model.Business, Impact: "high", Title: "Summer sale",
		Start: utc("2025-06-11T06:00"), End: utc("2025-06-13T00:00")}
	lowKey := campaign
	lowKey.Name, lowKey.Impact = "newsletter", "low"
	paycorp := model.CalendarItem{Name: "paycorp-upgrade", Kind: model.VendorEvent, Vendor: "paycorp", Impact: "medium",
		Weekly: weekly("UTC", "22:00", "02:00", "tue")}
	listed := model.CalendarItem{Name: "db-vendor", Kind: model.VendorEvent, Services: []string{"orders-db"},
		Start: utc("2025-06-10T21:00"), End: utc("2025-06-10T22:00")}
	tests := []struct {
		name  string
		scope []string
		items []model.CalendarItem
		want  []string // item: services
	}{
		{name: "high-impact business event, not a low one", scope: []string{"payments"}, items: []model.CalendarItem{campaign, lowKey},
			want: []string{"campaign:"}},
		{name: "vendor window upstream of the scope", scope: []string{"notifications"}, items: []model.CalendarItem{paycorp},
			want: []string{"paycorp-upgrade:paycorp-gateway"}},
		{name: "vendor window of a vendor the scope does not reach", scope: []string{"orders-db"}, items: []model.CalendarItem{paycorp}},
		{name: "vendor window listing a service the scope uses", scope: []string{"orders", "payments-db"}, items: []model.CalendarItem{listed, paycorp},
			want: []string{"db-vendor:orders-db", "paycorp-upgrade:paycorp-gateway"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix, rel := graphtest.ShopWith(func(o *model.Org, r *model.Release) {
				o.Calendar = tc.items
				r.Scope = nil
				for _, s := range tc.scope {
					r.Scope = append(r.Scope, model.ScopeItem{Service: s, Version: "9.0.0"})
				}
			})
			var got []string
			for _, c := range calendar.EventConflicts(ix.Org, rel) {
				if !c.Allowed || !c.Window.Overlaps(rel.Window) {
					t.Errorf("conflict %+v", c)
				}
				got = append(got, c.Item+":"+strings.Join(c.Services, ","))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	ix, rel := graphtest.ShopWith(func(o *model.Org, r *model.Release) { o.Calendar = []model.CalendarItem{paycorp, campaign} })
	all := calendar.Conflicts(ix.Org, rel)
	if len(all) != 2 || all[0].Item != "paycorp-upgrade" ||
		all[0].Message != "release r1 (normal) overlaps vendor window of paycorp paycorp-upgrade (2025-06-10 22:00 to 2025-06-11 02:00 UTC), impact medium; the release depends on paycorp-gateway" {
		t.Errorf("conflicts = %+v", all)
	}
}
