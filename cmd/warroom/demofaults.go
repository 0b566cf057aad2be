package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warroom/warroom/core/model"
)

// undeployedFaults names the entries of a --faults value (the local
// fleet's faults syntax: SERVICE@VERSION=FAULT[,FAULT...] entries
// separated by ';' or new lines, '#' comments) whose version the demo
// never runs: neither the service's current version nor one a release
// ships. Such a fault never applies, and a demo meant to show it would
// show nothing, so the demo warns. Entries the fleet cannot parse are
// left to the fleet, which refuses them with the reason.
func undeployedFaults(org *model.Org, faults string) []string {
	versions := map[string][]string{} // service -> the versions the demo can run
	add := func(svc, v string) {
		if v != "" && !slices.Contains(versions[svc], v) {
			versions[svc] = append(versions[svc], v)
		}
	}
	for _, s := range org.Services {
		add(s.Name, s.Version)
	}
	for _, r := range org.Releases {
		for _, it := range r.Scope {
			add(it.Service, it.Version)
		}
	}
	var out []string
	for _, line := range strings.FieldsFunc(faults, func(r rune) bool { return r == ';' || r == '\n' }) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		who, _, ok := strings.Cut(strings.TrimSpace(line), "=")
		svc, ver, ok2 := strings.Cut(strings.TrimSpace(who), "@")
		svc, ver = strings.TrimSpace(svc), strings.TrimSpace(ver)
		if !ok || !ok2 || svc == "" || ver == "" || slices.Contains(versions[svc], ver) {
			continue
		}
		known, ok := versions[svc]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("--faults %s@%s: the demo has no service %s, so the fault never applies", svc, ver, svc))
		default:
			slices.Sort(known)
			out = append(out, fmt.Sprintf("--faults %s@%s: the demo never deploys %s %s (it runs %s), so the fault never applies",
				svc, ver, svc, ver, strings.Join(known, ", ")))
		}
	}
	return out
}
