package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Options say what organisation to generate.
type Options struct {
	// Services is the number of services, databases and queues included.
	// Less than 1 means 1.
	Services int
	// Teams is the number of owning teams; 0 means Services/50, at least 3.
	Teams int
	// Seed chooses the organisation; the same seed gives the same bytes.
	Seed int64
	// ScopePercent is the share of services the release ships, in percent;
	// 0 means 10. The release ships at least one service.
	ScopePercent int
}

func (o Options) withDefaults() Options {
	o.Services = max(o.Services, 1)
	if o.Teams <= 0 {
		o.Teams = max(3, o.Services/50)
	}
	if o.ScopePercent <= 0 {
		o.ScopePercent = 10
	}
	o.ScopePercent = min(o.ScopePercent, 100)
	return o
}

// ReleaseName is the name of the release every generated organisation
// declares.
const ReleaseName = "train-2026-12"

// The calendar is fixed, so that the release window (a Wednesday night in
// December 2026) lies inside the production maintenance window and before
// the holiday freeze whatever the seed.
var (
	releaseWindow = model.Window{
		Start: time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC),
		End:   time.Date(2026, 12, 3, 5, 0, 0, 0, time.UTC),
	}
	freezeStart = time.Date(2026, 12, 14, 0, 0, 0, 0, time.UTC)
	freezeEnd   = time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
)

// Generate returns the spec files of a synthetic organisation, by file
// name (slash-separated, relative to the directory they are written to).
func Generate(opts Options) map[string][]byte {
	g := newGen(opts.withDefaults())
	g.build()
	return g.files()
}

// Write generates the organisation and writes its files below dir, which
// is created if needed. Files of the same names are overwritten; other
// files are left alone.
func Write(dir string, opts Options) error {
	files := Generate(opts)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write synthetic org: %w", err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("write synthetic org: %w", err)
		}
	}
	return nil
}

// role says what part a service plays in the generated graph.
type role int

const (
	roleApp role = iota
	roleDatabase
	roleQueue
	roleVendor
)

// svc is a generated service with what the generator needs to know about
// it beyond the model.
type svc struct {
	model.Service
	role  role
	layer int // apps: 0..layers-1; infrastructure: -1
	team  int // index into gen.teams; -1 for the vendor's services
}

type library struct {
	model.Library
	major int
}

type gen struct {
	opts     Options
	rng      *rand.Rand
	teams    []model.Team
	domains  []string
	vendor   *model.Vendor
	libs     []library
	svcs     []*svc
	byName   map[string]*svc
	apiOf    map[string]*svc // API -> provider
	tilde    map[string]bool // APIs some consumer requires with a ~ range
	release  model.Release
	captains []string
}

func newGen(opts Options) *gen {
	return &gen{
		opts:   opts,
		rng:    rand.New(rand.NewPCG(uint64(opts.Seed), 0x77a2_2026)),
		byName: map[string]*svc{},
		apiOf:  map[string]*svc{},
		tilde:  map[string]bool{},
	}
}

var domainWords = []string{
	"storefront", "catalog", "search", "pricing", "promotions", "cart", "checkout", "payments",
	"fraud", "orders", "inventory", "fulfilment", "shipping", "returns", "identity", "profile",
	"loyalty", "notifications", "ledger", "invoicing", "tax", "reporting", "reviews",
	"recommendations", "media", "content", "marketing", "analytics", "warehouse", "logistics",
	"procurement", "suppliers", "care", "subscriptions", "gift-cards", "marketplace", "ads",
	"experiments", "platform", "security",
}

var serviceRoles = []string{
	"gateway", "worker", "sync", "indexer", "scheduler", "engine", "store", "router", "bridge",
	"processor", "importer", "exporter", "resolver", "registry", "aggregator", "notifier",
	"planner", "tracker", "validator", "publisher", "collector", "adapter", "reader", "writer",
}

var libraryWords = []string{
	"http-kit", "telemetry-sdk", "auth-client", "money", "event-schemas", "config-loader",
	"retry-kit", "flags-client", "db-kit", "cache-client", "grpc-stubs", "log-kit", "i18n",
	"pdf-kit", "crypto-kit", "rate-limiter", "geo-kit", "search-client", "ui-kit", "test-kit",
	"queue-client", "secrets-client", "json-schema", "image-kit",
}

var firstNames = []string{
	"Amara", "Jonas", "Priya", "Lucas", "Sofia", "Daniel", "Mateo", "Hannah", "Wei", "Grace",
	"Oliver", "Ingrid", "Kenji", "Rachel", "Tomasz", "Elena", "Aisha", "Marco", "Freya", "Ravi",
	"Chloe", "Yusuf", "Nina", "Pablo", "Leila", "Ciaran", "Mei", "Anders", "Zara", "Tobias",
}

var lastNames = []string{
	"Okafor", "Weber", "Raman", "Moreau", "Lindqvist", "Mensah", "Garcia", "Schulz", "Tan",
	"Brennan", "Halvorsen", "Watanabe", "Adeyemi", "Nowak", "Rossi", "Khan", "Bianchi", "Murphy",
	"Iyer", "Dubois", "Demir", "Novak", "Santos", "Haddad", "Byrne", "Chen", "Larsen", "Ali",
	"Fischer", "Kowalski",
}

// numbered returns words[i], with a numeric suffix once the words run out,
// so any count of names stays unique.
func numbered(words []string, i int) string {
	w := words[i%len(words)]
	if i < len(words) {
		return w
	}
	return fmt.Sprintf("%s-%d", w, i/len(words)+1)
}

func (g *gen) person() string {
	return firstNames[g.rng.IntN(len(firstNames))] + " " + lastNames[g.rng.IntN(len(lastNames))]
}

func email(person string) string {
	return strings.ToLower(strings.ReplaceAll(person, " ", ".")) + "@example.com"
}

// pagerID is an on-call rotation reference in PagerDuty's style.
func (g *gen) pagerID() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := []byte("pagerduty:P")
	for range 6 {
		b = append(b, alphabet[g.rng.IntN(len(alphabet))])
	}
	return string(b)
}

func (g *gen) phone() string {
	return fmt.Sprintf("+353 1 555 %04d", g.rng.IntN(10000))
}

func (g *gen) build() {
	g.buildTeams()
	g.buildVendor()
	g.buildLibraries()
	g.buildServices()
	g.buildRelease()
}

func (g *gen) buildTeams() {
	roles := [][]string{{"operations"}, {"security"}, {"compliance", "business", "support"}}
	for i := range g.opts.Teams {
		d := numbered(domainWords, i)
		g.domains = append(g.domains, d)
		lead, manager := g.person(), g.person()
		g.captains = append(g.captains, lead)
		t := model.Team{
			Name:         d,
			DisplayName:  titleCase(d) + " team",
			BusinessUnit: []string{"Digital Commerce", "Operations", "Customer", "Finance", "Technology"}[i%5],
			Channel:      "#" + d + "-release",
			OnCall:       g.pagerID(),
		}
		t.Escalation = []model.Contact{
			{Name: titleCase(d) + " primary on-call", Role: "on-call engineer", OnCall: t.OnCall, Pager: true, Chat: "#" + d + "-oncall"},
			{Name: lead, Role: "tech lead", Email: email(lead), Phone: g.phone()},
			{Name: manager, Role: "engineering manager", Email: email(manager), Phone: g.phone()},
		}
		g.teams = append(g.teams, t)
	}
	for r, rs := range roles {
		t := &g.teams[min(r, len(g.teams)-1)]
		t.Roles = append(t.Roles, rs...)
	}
}

func titleCase(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// Counts of each role for n services: a vendor only from 8 services on,
// databases from 6, queues from 25.
func counts(n int) (vendor, dbs, queues, apps int) {
	switch {
	case n >= 20:
		vendor = 2
	case n >= 8:
		vendor = 1
	}
	if n >= 6 {
		dbs = max(1, n/12)
	}
	queues = n / 25
	apps = n - vendor - dbs - queues
	return
}

func (g *gen) buildVendor() {
	nv, _, _, _ := counts(g.opts.Services)
	if nv == 0 {
		return
	}
	tam := g.person()
	g.vendor = &model.Vendor{
		Name:        "paycorp",
		DisplayName: "PayCorp Payments Ltd.",
		Contract:    "MSA-2025-0042 (enterprise support, 15-minute P1 response)",
		SupportURL:  "https://support.paycorp.example.com",
		StatusURL:   "https://status.paycorp.example.com",
		Escalation: []model.Contact{
			{Name: "PayCorp 24x7 merchant support", Role: "vendor support desk", Phone: "+44 20 5550 0199", Email: "p1@paycorp.example.com", Pager: true},
			{Name: tam, Role: "technical account manager", Email: email(tam), Phone: "+44 20 5550 0134"},
		},
	}
}

func (g *gen) buildLibraries() {
	n := min(max(3, g.opts.Services/20), 24)
	for i := range n {
		major := 1 + g.rng.IntN(4)
		count := 3 + g.rng.IntN(3) // 3..5 versions, all of one major
		var versions []string
		for m := range count {
			patch := 0
			if m > 0 {
				patch = g.rng.IntN(4)
			}
			versions = append(versions, fmt.Sprintf("%d.%d.%d", major, m, patch))
		}
		name := numbered(libraryWords, i)
		g.libs = append(g.libs, library{
			Library: model.Library{
				Name:        name,
				Owner:       g.teams[g.rng.IntN(len(g.teams))].Name,
				Description: "Shared " + strings.ReplaceAll(name, "-", " ") + " library.",
				Versions:    versions,
			},
			major: major,
		})
	}
	if g.vendor != nil {
		g.libs = append(g.libs, library{
			Library: model.Library{
				Name:        g.vendor.Name + "-sdk",
				Owner:       g.vendor.Name,
				Description: "PayCorp's client for its gateway and token vault.",
				Versions:    []string{"2.1.0", "2.2.0", "2.3.1"},
			},
			major: 2,
		})
	}
}

func (g *gen) add(s *svc) {
	g.svcs = append(g.svcs, s)
	g.byName[s.Name] = s
	for _, p := range s.Provides {
		g.apiOf[p.API] = s
	}
}

func (g *gen) version() string {
	return fmt.Sprintf("%d.%d.%d", 1+g.rng.IntN(4), g.rng.IntN(20), g.rng.IntN(10))
}

func (g *gen) apiVersion() string {
	return fmt.Sprintf("%d.%d.0", 1+g.rng.IntN(3), g.rng.IntN(13))
}

func (g *gen) buildServices() {
	n := g.opts.Services
	nv, nd, nq, na := counts(n)
	perTeam := make([]int, len(g.teams)) // services named so far, per team
	dbsOf := make([]int, len(g.teams))
	queuesOf := make([]int, len(g.teams))

	// Infrastructure first: the vendor's upstream services, databases and
	// queues, which depend on nothing.
	for i := range nv {
		name := g.vendor.Name + []string{"-gateway", "-vault"}[i]
		s := &svc{role: roleVendor, layer: -1, team: -1}
		s.Name = name
		s.Description = []string{"PayCorp card gateway: authorisation, capture, refunds, 3-D Secure.", "PayCorp token vault: card numbers never touch our systems."}[i]
		s.Owner = g.vendor.Name
		s.Tier = 0
		s.Kind = model.Stateless
		s.Version = g.version()
		s.Provides = []model.APIProvision{{API: name + "-api", Version: g.apiVersion()}}
		s.SLO = model.SLO{Availability: 99.95, LatencyP50: ms(100), LatencyP99: ms(800), Window: days(30), BudgetPolicy: "warn"}
		s.Labels = model.LabelSet{"external": "true"}
		g.add(s)
	}
	for range nd {
		t := g.rng.IntN(len(g.teams))
		dbsOf[t]++
		s := &svc{role: roleDatabase, layer: -1, team: t}
		s.Name = numberedName(g.domains[t]+"-db", dbsOf[t])
		s.Description = "PostgreSQL cluster of the " + g.domains[t] + " domain."
		s.Owner = g.teams[t].Name
		s.Tier = model.Tier(g.rng.IntN(2))
		s.Kind = model.Database
		s.Version = "15." + strconv.Itoa(4+g.rng.IntN(4)) + ".0"
		s.SLO = model.SLO{Availability: 99.99, LatencyP50: ms(2), LatencyP99: ms(25), Window: days(28), BudgetPolicy: "block"}
		s.Deploy = model.DeployPolicy{Strategy: model.Rolling, BatchSize: 1, Instances: 3, Settings: map[string]string{"engine": "postgresql"}}
		g.add(s)
	}
	for range nq {
		t := g.rng.IntN(len(g.teams))
		queuesOf[t]++
		s := &svc{role: roleQueue, layer: -1, team: t}
		s.Name = numberedName(g.domains[t]+"-events", queuesOf[t])
		s.Description = "Kafka topic of " + g.domains[t] + " events."
		s.Owner = g.teams[t].Name
		s.Tier = model.Tier(g.rng.IntN(2))
		s.Kind = model.Queue
		s.Version = g.version()
		s.Provides = []model.APIProvision{{API: s.Name, Version: g.apiVersion()}}
		s.SLO = model.SLO{Availability: 99.95, LatencyP99: ms(500), Window: days(28), BudgetPolicy: "warn"}
		s.Deploy = model.DeployPolicy{Strategy: model.Rolling, BatchSize: 1, Instances: 3, Settings: map[string]string{"engine": "kafka"}}
		g.add(s)
	}
	infra := slices.Clone(g.svcs)
	var infraProviders, dbs []*svc
	for _, s := range infra {
		if len(s.Provides) > 0 {
			infraProviders = append(infraProviders, s)
		}
		if s.role == roleDatabase {
			dbs = append(dbs, s)
		}
	}

	// Apps, layer by layer: an app requires APIs only of infrastructure and
	// of apps in lower layers, so the graph is acyclic by construction.
	layers := 1
	if na > 1 {
		layers = min(10, int(math.Log2(float64(na)))+1)
	}
	owners := g.rng.Perm(max(na, 1))
	byLayer := make([][]*svc, layers)
	for i := range na {
		layer := i * layers / na
		t := owners[i] % len(g.teams)
		s := &svc{role: roleApp, layer: layer, team: t}
		s.Name = g.appName(t, perTeam[t])
		perTeam[t]++
		s.Owner = g.teams[t].Name
		s.Repository = "git.example.com/" + s.Owner + "/" + s.Name
		s.Version = g.version()
		s.Kind = model.Stateless
		if g.rng.IntN(10) == 0 {
			s.Kind = model.Stateful
		}
		s.Tier = g.tier(layer, layers)
		s.Description = fmt.Sprintf("%s service of the %s domain (layer %d).", titleCase(s.Name), g.domains[t], layer)
		s.Provides = []model.APIProvision{{API: s.Name + "-api", Version: g.apiVersion()}}
		s.Requires = g.requirements(layer, byLayer, infraProviders)
		s.Libraries = g.libraryUses()
		if len(dbs) > 0 && g.rng.IntN(3) == 0 {
			s.Databases = []string{dbs[g.rng.IntN(len(dbs))].Name}
		}
		s.SLO = g.slo(s.Tier)
		s.Deploy = g.deployPolicy(s.Tier, s.Kind)
		s.Labels = model.LabelSet{"domain": g.domains[t], "layer": strconv.Itoa(layer)}
		s.Runbook = "https://runbooks.example.com/" + s.Name
		if g.rng.IntN(8) == 0 {
			s.Toggles = []model.FeatureFlag{{
				Name:        s.Name + "-next",
				Description: "Next version of the " + s.Name + " flow, shipped dark.",
				PerEnv:      map[string]bool{"dev": true, "test": true, "uat": true, "staging": true, "prod": false},
			}}
		}
		g.add(s)
		byLayer[layer] = append(byLayer[layer], s)
	}
}

func numberedName(base string, k int) string {
	if k <= 1 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, k)
}

// appName names a team's k-th app: the team's domain, then domain-role.
func (g *gen) appName(team, k int) string {
	d := g.domains[team]
	if k == 0 {
		return d
	}
	return d + "-" + numbered(serviceRoles, k-1)
}

// tier makes the top of the graph (what customers touch) and its very
// bottom more critical than the middle.
func (g *gen) tier(layer, layers int) model.Tier {
	t := g.rng.IntN(4)
	if layer == layers-1 && t > 1 {
		t -= 2
	}
	return model.Tier(t)
}

// requirements picks about three providers for an app of the given layer:
// at least one of the layer just below (so layers mean depth) and the rest
// from any lower layer or the infrastructure.
func (g *gen) requirements(layer int, byLayer [][]*svc, infra []*svc) []model.APIRequirement {
	var pool []*svc
	pool = append(pool, infra...)
	for l := 0; l < layer; l++ {
		pool = append(pool, byLayer[l]...)
	}
	if len(pool) == 0 {
		return nil
	}
	want := min(1+g.rng.IntN(5), len(pool)) // 1..5, three on average
	chosen := map[string]bool{}
	var picks []*svc
	if layer > 0 && len(byLayer[layer-1]) > 0 {
		p := byLayer[layer-1][g.rng.IntN(len(byLayer[layer-1]))]
		chosen[p.Name] = true
		picks = append(picks, p)
	}
	for tries := 0; len(picks) < want && tries < 4*want; tries++ {
		p := pool[g.rng.IntN(len(pool))]
		if chosen[p.Name] {
			continue
		}
		chosen[p.Name] = true
		picks = append(picks, p)
	}
	var out []model.APIRequirement
	for _, p := range picks {
		api := p.Provides[0]
		r := model.APIRequirement{API: api.API, Range: g.rangeFor(api.API, api.Version)}
		r.Optional = g.rng.IntN(20) == 0
		out = append(out, r)
	}
	return out
}

// rangeFor writes a range the version satisfies, in one of the common
// shapes: ^X.Y (mostly), >=X.Y.0 <X+1.0.0, or ~X.Y.
func (g *gen) rangeFor(api, version string) string {
	x, y := majorMinor(version)
	switch r := g.rng.IntN(10); {
	case r < 6:
		return fmt.Sprintf("^%d.%d", x, g.rng.IntN(y+1))
	case r < 8:
		return fmt.Sprintf(">=%d.%d.0 <%d.0.0", x, g.rng.IntN(y+1), x+1)
	default:
		g.tilde[api] = true
		return fmt.Sprintf("~%d.%d", x, y)
	}
}

func majorMinor(v string) (int, int) {
	parts := strings.SplitN(v, ".", 3)
	x, _ := strconv.Atoi(parts[0])
	y, _ := strconv.Atoi(parts[1])
	return x, y
}

func (g *gen) libraryUses() []model.LibraryUse {
	k := min(2+g.rng.IntN(3), len(g.libs))
	idx := g.rng.Perm(len(g.libs))[:k]
	sort.Ints(idx)
	out := make([]model.LibraryUse, 0, k)
	for _, i := range idx {
		l := g.libs[i]
		out = append(out, model.LibraryUse{Name: l.Name, Version: l.Versions[g.rng.IntN(len(l.Versions))]})
	}
	return out
}

func (g *gen) slo(t model.Tier) model.SLO {
	switch t {
	case 0:
		return model.SLO{Availability: 99.95, LatencyP50: ms(20 + g.rng.IntN(60)), LatencyP99: ms(200 + 50*g.rng.IntN(10)), Window: days(28), BudgetPolicy: "block"}
	case 1:
		return model.SLO{Availability: 99.9, LatencyP50: ms(30 + g.rng.IntN(80)), LatencyP99: ms(300 + 50*g.rng.IntN(10)), Window: days(28), BudgetPolicy: "block"}
	case 2:
		return model.SLO{Availability: 99.5, LatencyP99: ms(500 + 100*g.rng.IntN(10)), Window: days(28), BudgetPolicy: "warn"}
	}
	return model.SLO{Availability: 99, LatencyP99: ms(1000 * (1 + g.rng.IntN(5))), Window: days(28), BudgetPolicy: "warn"}
}

// deployPolicy chooses a strategy by criticality and state: canaries for
// critical stateless services, rolling for anything holding state, and
// rolling or blue-green for the rest.
func (g *gen) deployPolicy(t model.Tier, k model.ServiceKind) model.DeployPolicy {
	instances := 2 + g.rng.IntN(10)
	switch {
	case k != model.Stateless:
		return model.DeployPolicy{Strategy: model.Rolling, BatchSize: 1, Instances: instances}
	case t == 0:
		return model.DeployPolicy{Strategy: model.Canary, CanarySteps: []int{5, 25, 50, 100}, BakeTime: minutes(10), Instances: instances + 4}
	case t == 1:
		return model.DeployPolicy{Strategy: model.Canary, CanarySteps: []int{10, 50, 100}, BakeTime: minutes(5), Instances: instances + 2}
	case g.rng.IntN(4) == 0:
		return model.DeployPolicy{Strategy: model.BlueGreen, BakeTime: minutes(15), Instances: instances}
	}
	return model.DeployPolicy{Strategy: model.Rolling, BatchSize: max(1, instances/4), Instances: instances}
}

func ms(n int) model.Duration      { return model.Duration(time.Duration(n) * time.Millisecond) }
func minutes(n int) model.Duration { return model.Duration(time.Duration(n) * time.Minute) }
func days(n int) model.Duration    { return model.Duration(time.Duration(n) * 24 * time.Hour) }

// buildRelease scopes ScopePercent of the services (never the vendor's
// services nor databases, which ship through migrations) with new
// versions; some of the new builds require the new API of a provider in
// the same release, and one migration changes a database some of them
// use.
func (g *gen) buildRelease() {
	var candidates []*svc
	for _, s := range g.svcs {
		if s.role == roleApp || s.role == roleQueue {
			candidates = append(candidates, s)
		}
	}
	if len(candidates) == 0 {
		// Only infrastructure: ship a database, the one thing there is.
		for _, s := range g.svcs {
			if s.role == roleDatabase {
				candidates = append(candidates, s)
			}
		}
	}
	k := min(max(1, int(math.Round(float64(g.opts.Services)*float64(g.opts.ScopePercent)/100))), len(candidates))
	isCandidate := map[string]bool{}
	for _, c := range candidates {
		isCandidate[c.Name] = true
	}
	inScope := map[string]bool{}
	var scope []*svc
	pick := func(s *svc) {
		if !inScope[s.Name] && len(scope) < k {
			inScope[s.Name] = true
			scope = append(scope, s)
		}
	}
	// Pin what the release must show whatever the draw: a consumer that
	// needs its provider's new API (so the provider ships in an earlier
	// wave), and a service using a database (for the migration).
	start := g.rng.IntN(len(candidates))
	var pairConsumer string
	if k >= 2 {
	pair:
		for off := range candidates {
			c := candidates[(start+off)%len(candidates)]
			for _, r := range c.Requires {
				if p := g.apiOf[r.API]; !r.Optional && !g.tilde[r.API] && isCandidate[p.Name] {
					pick(p)
					pick(c)
					pairConsumer = c.Name
					break pair
				}
			}
		}
	}
	usesDB := false
	for _, s := range scope {
		usesDB = usesDB || len(s.Databases) > 0
	}
	if !usesDB && len(scope) < k {
		for off := range candidates {
			if c := candidates[(start+off)%len(candidates)]; len(c.Databases) > 0 && !inScope[c.Name] {
				pick(c)
				break
			}
		}
	}
	for _, i := range g.rng.Perm(len(candidates)) {
		pick(candidates[i])
	}
	sort.Slice(scope, func(i, j int) bool { return g.index(scope[i]) < g.index(scope[j]) })
	var migDB string
	for _, s := range scope {
		if len(s.Databases) > 0 {
			migDB = s.Databases[0]
			break
		}
	}

	// New versions. A provider's API moves up a minor version, or only a
	// patch version where a consumer pins the minor with ~.
	newAPI := map[string]string{}
	var items []model.ScopeItem
	for _, s := range scope {
		it := model.ScopeItem{Service: s.Name, Version: bumpMinor(s.Version)}
		it.Artifact = artifact(s, it.Version)
		for _, p := range s.Provides {
			nv := bumpMinor(p.Version)
			if g.tilde[p.API] {
				nv = bumpPatch(p.Version)
			}
			newAPI[p.API] = nv
			it.Provides = append(it.Provides, model.APIProvision{API: p.API, Version: nv})
		}
		items = append(items, it)
	}
	for i, s := range scope {
		it := &items[i]
		// Some builds declare new requirement ranges. Half of the consumers
		// of an in-scope provider need its new API, which puts the provider
		// in an earlier wave; one build in three otherwise restates a range
		// from the provider's running version.
		reqs := slices.Clone(s.Requires)
		var needs []string
		if s.Name == pairConsumer || i%2 == 0 {
			for j, r := range reqs {
				nv, ok := newAPI[r.API]
				if ok && !r.Optional && !g.tilde[r.API] {
					x, y := majorMinor(nv)
					reqs[j].Range = fmt.Sprintf("^%d.%d", x, y)
					needs = append(needs, r.API)
				}
			}
		}
		switch {
		case len(needs) > 0:
			it.Requires = reqs
			it.Notes = "Needs the new " + strings.Join(needs, ", ") + " shipped in this release."
		case len(reqs) > 0 && i%3 == 0:
			// The running version, which a new one (if any) still
			// satisfies: a minor or patch bump of the same major.
			x, y := majorMinor(g.apiOf[reqs[0].API].Provides[0].Version)
			reqs[0].Range = fmt.Sprintf(">=%d.%d.0 <%d.0.0", x, y, x+1)
			it.Requires = reqs
			it.Notes = "Restates its " + reqs[0].API + " range from the running version."
		}
		// Every other build moves its libraries to their newest release;
		// with the builds that keep theirs this makes library conflicts,
		// all resolvable since each library stays within one major.
		if len(s.Libraries) > 0 && i%2 == 1 {
			for _, l := range s.Libraries {
				lib := g.lib(l.Name)
				it.Libraries = append(it.Libraries, model.LibraryUse{Name: l.Name, Version: lib.Versions[len(lib.Versions)-1]})
			}
		}
	}

	rel := model.Release{
		Name:         ReleaseName,
		Title:        "December release train",
		Description:  fmt.Sprintf("Synthetic release train shipping %d of %d services.", len(items), len(g.svcs)),
		Captain:      g.captains[0],
		Owner:        g.teams[0].Name,
		Class:        model.ClassNormal,
		Window:       releaseWindow,
		Environments: []string{"dev", "test", "uat", "staging", "prod"},
		Scope:        items,
		Backout:      "Roll back in reverse wave order to the previous versions; before a contract phase the schema stays readable by the old builds.",
	}
	if migDB != "" {
		var consumers []string
		for _, s := range scope {
			if slices.Contains(s.Databases, migDB) {
				consumers = append(consumers, s.Name)
			}
		}
		rel.Migrations = []model.Migration{{
			Name:      migDB + "-schema-change",
			Databases: []string{migDB},
			Consumers: consumers,
			Expand:    &model.MigrationStep{Description: "Add the new nullable columns and their indexes.", Script: "migrations/" + migDB + "/0001_expand.sql", Timeout: minutes(15), Reversible: true},
			Migrate:   &model.MigrationStep{Description: "Backfill the new columns in batches.", Script: "migrations/" + migDB + "/0002_backfill.sql", Timeout: minutes(120), Reversible: true},
			Contract:  &model.MigrationStep{Description: "Drop the columns no consumer reads any more.", Script: "migrations/" + migDB + "/0003_contract.sql", Timeout: minutes(10)},
		}}
	}
	owners := map[string]bool{}
	for _, s := range scope {
		if s.team >= 0 && s.Owner != rel.Owner && !owners[s.Owner] {
			owners[s.Owner] = true
			rel.Stakeholders = append(rel.Stakeholders, s.Owner)
		}
	}
	sort.Strings(rel.Stakeholders)
	g.release = rel
}

func (g *gen) index(s *svc) int { return slices.Index(g.svcs, s) }

func (g *gen) lib(name string) library {
	for _, l := range g.libs {
		if l.Name == name {
			return l
		}
	}
	panic("synth: unknown library " + name)
}

func bumpMinor(v string) string {
	x, y := majorMinor(v)
	return fmt.Sprintf("%d.%d.0", x, y+1)
}

func bumpPatch(v string) string {
	parts := strings.SplitN(v, ".", 3)
	z, _ := strconv.Atoi(parts[2])
	return fmt.Sprintf("%s.%s.%d", parts[0], parts[1], z+1)
}

// artifact makes a stable, realistic-looking artifact for a build.
func artifact(s *svc, version string) model.Artifact {
	sum := sha256.Sum256([]byte("image " + s.Name + ":" + version))
	rev := sha256.Sum256([]byte("commit " + s.Name + ":" + version))
	return model.Artifact{
		Digest: "sha256:" + hex.EncodeToString(sum[:]),
		Ref:    "registry.example.com/" + s.Owner + "/" + s.Name + ":" + version,
		Source: "git.example.com/" + s.Owner + "/" + s.Name + "@" + hex.EncodeToString(rev[:20]),
	}
}
