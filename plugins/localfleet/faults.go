package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A fault is one demo-service fault flag: its name is the flag's.
var faultNames = []string{"error-rate", "latency", "crash-on-start", "slow-start", "crash-after"}

// faultSet is the faults of one version: name -> value ("" for
// crash-on-start, which takes none).
type faultSet map[string]string

// faultTable maps "service@version" to its faults.
type faultTable map[string]faultSet

// args turns the faults into demo-service flags, in a stable order.
func (f faultSet) args() []string {
	var out []string
	for _, name := range faultNames {
		v, ok := f[name]
		if !ok {
			continue
		}
		if name == "crash-on-start" {
			if v == "" || v == "true" {
				out = append(out, "--crash-on-start")
			}
			continue
		}
		out = append(out, "--"+name+"="+v)
	}
	return out
}

// String is the faults as the setting writes them.
func (f faultSet) String() string {
	var parts []string
	for _, name := range faultNames {
		v, ok := f[name]
		switch {
		case !ok:
		case name == "crash-on-start":
			if v == "" || v == "true" {
				parts = append(parts, name)
			}
		default:
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// merge returns f with g's faults on top.
func (f faultSet) merge(g faultSet) faultSet {
	out := faultSet{}
	for k, v := range f {
		out[k] = v
	}
	for k, v := range g {
		out[k] = v
	}
	return out
}

// checkFault validates one fault's value.
func checkFault(name, value string) error {
	switch name {
	case "error-rate":
		r, err := strconv.ParseFloat(value, 64)
		if err != nil || r < 0 || r > 1 {
			return fmt.Errorf("error-rate %q: want a fraction between 0 and 1", value)
		}
	case "latency", "slow-start":
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fmt.Errorf("%s %q: want a duration like 200ms", name, value)
		}
	case "crash-after":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return fmt.Errorf("crash-after %q: want a number of requests", value)
		}
	case "crash-on-start":
		if value != "" && value != "true" && value != "false" {
			return fmt.Errorf("crash-on-start takes no value (or true/false), not %q", value)
		}
	default:
		return fmt.Errorf("unknown fault %q; the faults are %s", name, strings.Join(faultNames, ", "))
	}
	return nil
}

// parseFaultList reads `error-rate=0.3,latency=200ms,crash-on-start`.
func parseFaultList(s string) (faultSet, error) {
	f := faultSet{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, _ := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if err := checkFault(name, value); err != nil {
			return nil, err
		}
		f[name] = value
	}
	return f, nil
}

// parseFaults reads the faults setting: entries `SERVICE@VERSION=FAULTS`
// separated by ';' or new lines; '#' starts a comment.
func parseFaults(s string) (faultTable, error) {
	t := faultTable{}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' })
	for _, line := range lines {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		who, list, ok := strings.Cut(line, "=")
		service, version, ok2 := strings.Cut(strings.TrimSpace(who), "@")
		service, version = strings.TrimSpace(service), strings.TrimSpace(version)
		if !ok || !ok2 || service == "" || version == "" {
			return nil, fmt.Errorf("%q: want SERVICE@VERSION=FAULT[,FAULT...], e.g. payments@3.2.0=error-rate=0.3,latency=200ms", line)
		}
		f, err := parseFaultList(list)
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %w", service, version, err)
		}
		key := service + "@" + version
		t[key] = t[key].merge(f)
	}
	return t, nil
}

func readFaultsFile(path string) (faultTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := parseFaults(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// requestFaults reads a deploy request's `fault.NAME` settings; other
// settings belong to other targets and are ignored.
func requestFaults(settings map[string]string) (faultSet, error) {
	f := faultSet{}
	var names []string
	for k := range settings {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		name, ok := strings.CutPrefix(k, "fault.")
		if !ok {
			continue
		}
		v := strings.TrimSpace(settings[k])
		if err := checkFault(name, v); err != nil {
			return nil, fmt.Errorf("request setting %s: %w", k, err)
		}
		f[name] = v
	}
	return f, nil
}

// faultsFor returns the configured faults of a version: the faults
// setting, then the faults file (read now) on top.
func (c config) faultsFor(service, version string) (faultSet, error) {
	key := service + "@" + version
	f := c.faults[key].merge(nil)
	if c.faultsFile != "" {
		t, err := readFaultsFile(c.faultsFile)
		if errors.Is(err, os.ErrNotExist) {
			return f, nil
		}
		if err != nil {
			return nil, fmt.Errorf("faults_file: %w", err)
		}
		f = f.merge(t[key])
	}
	return f, nil
}

// faultedVersions lists the versions of service that the faults setting
// and the faults file (read now; one that cannot be read adds none)
// give faults, sorted.
func (c config) faultedVersions(service string) []string {
	var out []string
	add := func(t faultTable) {
		for key := range t {
			svc, v, _ := strings.Cut(key, "@")
			if svc == service && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	add(c.faults)
	if c.faultsFile != "" {
		if t, err := readFaultsFile(c.faultsFile); err == nil {
			add(t)
		}
	}
	slices.Sort(out)
	return out
}
