package host

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/plugins/sdk"
)

// Defaults of a plugin's deadlines; a zero duration in PluginConfig means
// the default.
const (
	DefaultTimeout           = 10 * time.Second
	DefaultStreamIdleTimeout = 2 * time.Minute
	DefaultStartTimeout      = 10 * time.Second
)

// Config is the plugin configuration: which plugins exist, where their
// binaries are, which provider kinds each serves for warroom and with
// which settings. See the package documentation for the file format.
type Config struct {
	// File is the file the configuration was read from; empty for
	// DefaultConfig.
	File string
	// BuiltinDir is the directory the built-in plugins were looked for
	// in; empty when there are none.
	BuiltinDir string
	Plugins    []PluginConfig
	// Disabled are the built-ins the file dropped (disable: [...]).
	Disabled []string
	// CanaryJudge is the monitoring source whose metrics judge canaries:
	// the file's canary_judge, else "scrape" when it is configured. Empty
	// when no plugin judges canaries; NoCanaryJudge when the file said
	// that canaries are promoted on bake time alone.
	CanaryJudge string
}

// NoCanaryJudge is canary_judge's value that deliberately promotes
// canaries when their bake ends, without judgement.
const NoCanaryJudge = "none"

// DefaultCanaryJudge is the monitoring source that judges canaries unless
// the configuration names another: the built-in scrape source, whose
// cohorts are the local fleet's (and any target's that writes the same
// scrape-targets.json).
const DefaultCanaryJudge = "scrape"

// Origins of a configured plugin (PluginConfig.Origin).
const (
	OriginBuiltin    = "built-in"
	OriginFile       = "file"
	OriginOverridden = "built-in, overridden by file"
)

// PluginConfig is one configured plugin.
type PluginConfig struct {
	Name string
	// Origin says where the plugin's configuration came from: a built-in
	// (OriginBuiltin), the configuration file (OriginFile), or a built-in
	// the file overrode (OriginOverridden).
	Origin string
	// Path is the plugin's binary, absolute.
	Path string
	// Kinds are the provider kinds warroom uses this plugin for; the
	// plugin must serve each of them.
	Kinds    []sdk.Kind
	Settings map[string]string
	// Timeout bounds every unary call (default DefaultTimeout).
	Timeout time.Duration
	// StreamIdleTimeout fails a stream (Deploy, Rollback, Watch) when no
	// event arrives for this long (default DefaultStreamIdleTimeout).
	StreamIdleTimeout time.Duration
	// StartTimeout bounds the start-up handshake (default
	// DefaultStartTimeout).
	StartTimeout time.Duration
}

func (p PluginConfig) timeout() time.Duration { return orDefault(p.Timeout, DefaultTimeout) }
func (p PluginConfig) streamIdleTimeout() time.Duration {
	return orDefault(p.StreamIdleTimeout, DefaultStreamIdleTimeout)
}
func (p PluginConfig) startTimeout() time.Duration {
	return orDefault(p.StartTimeout, DefaultStartTimeout)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// serves reports whether the plugin is configured for kind.
func (p PluginConfig) serves(kind sdk.Kind) bool { return slices.Contains(p.Kinds, kind) }

// Plugin returns the configured plugin of that name.
func (c *Config) Plugin(name string) (PluginConfig, bool) {
	for _, p := range c.Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return PluginConfig{}, false
}

// Names returns the configured plugins' names, in configuration order.
func (c *Config) Names() []string {
	out := make([]string, len(c.Plugins))
	for i, p := range c.Plugins {
		out[i] = p.Name
	}
	return out
}

// builtins are the plugins `make build` puts in bin/plugins, with the
// kinds warroom uses each for. Later providers add a row here.
var builtins = []struct {
	name     string
	kinds    []sdk.Kind
	settings map[string]string
}{
	{"exec", []sdk.Kind{sdk.KindDeployTarget}, nil},
	{"tickets-local", []sdk.Kind{sdk.KindTicketing}, nil},
	// The local fleet makes room for the targets a run touches instead of
	// refusing once full: a release train over every environment and
	// region touches more targets than a laptop should run at once.
	{"localfleet", []sdk.Kind{sdk.KindDeployTarget}, map[string]string{"evict_idle": "true"}},
	// The scrape source reads the local fleet's instances: their list is
	// in the fleet's state dir, beside the scrape source's own.
	{"scrape", []sdk.Kind{sdk.KindMonitoringSource}, map[string]string{"targets_file": "../localfleet/scrape-targets.json"}},
}

// BuiltinNames are the names of the built-in plugins, whether or not
// their binaries were built.
func BuiltinNames() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.name
	}
	return out
}

func isBuiltin(name string) bool { return slices.Contains(BuiltinNames(), name) }

// staticBuiltin is the built-in's row, without a path.
func staticBuiltin(name string) PluginConfig {
	for _, b := range builtins {
		if b.name == name {
			return PluginConfig{Name: b.name, Origin: OriginBuiltin, Kinds: slices.Clone(b.kinds), Settings: maps.Clone(b.settings)}
		}
	}
	return PluginConfig{Name: name}
}

// DefaultConfig is the configuration used when there is no configuration
// file: every built-in plugin whose binary is in pluginDir, with its
// default settings and the default deadlines. So a fresh `make build` lists
// bin/plugins/exec and bin/plugins/tickets-local without any setup. The
// scrape source, when built, judges canaries.
func DefaultConfig(pluginDir string) *Config {
	cfg := &Config{}
	dir, err := filepath.Abs(pluginDir)
	if err != nil {
		return cfg
	}
	cfg.BuiltinDir = dir
	for _, b := range builtins {
		path := filepath.Join(dir, b.name)
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		cfg.Plugins = append(cfg.Plugins, PluginConfig{Name: b.name, Origin: OriginBuiltin, Path: path,
			Kinds: slices.Clone(b.kinds), Settings: maps.Clone(b.settings)})
	}
	cfg.CanaryJudge = cfg.defaultJudge()
	return cfg
}

// defaultJudge is DefaultCanaryJudge when it is configured as a
// monitoring source, else "".
func (c *Config) defaultJudge() string {
	if p, ok := c.Plugin(DefaultCanaryJudge); ok && p.serves(sdk.KindMonitoringSource) {
		return DefaultCanaryJudge
	}
	return ""
}

// ConfigError is one problem of a configuration file, where it is.
type ConfigError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e ConfigError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ConfigErrors is every problem found in a configuration file, in file
// order.
type ConfigErrors []ConfigError

// maxReported bounds the errors a message lists: a file of garbage must
// not flood the terminal.
const maxReported = 50

func (es ConfigErrors) Error() string {
	n := min(len(es), maxReported)
	msgs := make([]string, n, n+1)
	for i, e := range es[:n] {
		msgs[i] = e.Error()
	}
	if len(es) > n {
		msgs = append(msgs, fmt.Sprintf("… and %d more errors", len(es)-n))
	}
	return strings.Join(msgs, "\n")
}

// MaxConfigSize is the largest configuration file LoadConfig reads: a
// plugin configuration is a few kilobytes, and a file of megabytes is a
// mistake (the wrong file) better refused than parsed.
const MaxConfigSize = 1 << 20

// LoadConfig reads a plugin configuration file and combines it with the
// built-in plugins (DefaultConfig; nil for none):
//
//   - an entry whose name is a built-in's overrides it field by field:
//     path, kinds and the deadlines it gives replace the built-in's, and
//     its settings are merged over the built-in's, key by key;
//   - an entry of another name adds a plugin;
//   - a built-in is dropped only by naming it in disable;
//   - the rest of the built-ins stay as they are.
//
// Built-ins come first, in their order, then the file's own plugins in
// file order. It is strict: unknown keys, unknown kinds, duplicate names,
// a missing path or a bad duration are errors, all reported at once as
// ConfigErrors, each with file:line:col. A relative path is relative to
// the file's directory.
func LoadConfig(path string, builtin *Config) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("plugin configuration %s does not exist", path)
		}
		return nil, fmt.Errorf("read plugin configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read plugin configuration: %w", err)
	}
	if len(data) > MaxConfigSize {
		return nil, ConfigErrors{{File: path, Msg: fmt.Sprintf("the file is larger than %d KiB: is it the right file? A plugin configuration is a few lines per plugin", MaxConfigSize>>10)}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("plugin configuration %s: %w", path, err)
	}
	return ParseConfig(path, filepath.Dir(abs), data, builtin)
}

// ParseConfig is LoadConfig of a file's contents: file names it in
// errors, and relative paths are relative to dir.
func ParseConfig(file, dir string, data []byte, builtin *Config) (*Config, error) {
	if builtin == nil {
		builtin = &Config{}
	}
	d := &configDecoder{file: file, dir: dir, builtin: builtin, data: data}
	cfg := d.decode(data)
	if len(d.errs) > 0 {
		slices.SortStableFunc(d.errs, func(a, b ConfigError) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return nil, d.errs
	}
	cfg.File = filepath.Join(dir, filepath.Base(file))
	return cfg, nil
}

// configDecoder walks the YAML node tree, collecting every error.
type configDecoder struct {
	file    string
	dir     string
	builtin *Config
	data    []byte
	errs    ConfigErrors
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (d *configDecoder) errorf(n *yaml.Node, format string, args ...any) {
	e := ConfigError{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	// An empty node at the end of the file (after "---", or a key
	// without a value on the last line) sits on a line past the last.
	if last := bytes.Count(d.data, []byte("\n")) + 1; e.Line > last {
		e.Line, e.Col = last, 1
	}
	d.errs = append(d.errs, e)
}

// entry is one plugin of the file, with the nodes errors point at.
type entry struct {
	p              PluginConfig
	name, item     *yaml.Node
	hasPath, kinds bool
}

func (d *configDecoder) decode(data []byte) *Config {
	cfg := &Config{BuiltinDir: d.builtin.BuiltinDir}
	if pos, msg, bad := scanText(data); bad {
		d.errs = append(d.errs, ConfigError{File: d.file, Line: pos.line, Col: pos.col, Msg: msg})
		return cfg
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.errs = append(d.errs, d.syntaxError(err))
		return cfg
	}
	var (
		entries           []entry
		disable           []*yaml.Node
		judgeNode         *yaml.Node
		disabledWithEntry = map[string]bool{}
	)
	if len(doc.Content) > 0 {
		d.mapping(doc.Content[0], "the configuration", map[string]func(*yaml.Node){
			"plugins":      func(n *yaml.Node) { entries = d.plugins(n) },
			"disable":      func(n *yaml.Node) { disable = d.disable(n) },
			"canary_judge": func(n *yaml.Node) { judgeNode = n; d.str(n, "canary_judge") },
		})
	}
	byName := make(map[string]*entry, len(entries))
	for i := range entries {
		byName[entries[i].p.Name] = &entries[i]
	}
	for _, n := range disable {
		if e := byName[n.Value]; e != nil {
			d.errorf(n, "built-in plugin %q is both disabled and configured (line %d): remove one of them", n.Value, e.name.Line)
			disabledWithEntry[n.Value] = true
		}
		cfg.Disabled = append(cfg.Disabled, n.Value)
	}

	// The built-ins first, overridden or dropped; then the file's own.
	for _, b := range d.builtin.Plugins {
		if slices.Contains(cfg.Disabled, b.Name) {
			continue
		}
		e := byName[b.Name]
		if e == nil {
			cfg.Plugins = append(cfg.Plugins, b)
			continue
		}
		cfg.Plugins = append(cfg.Plugins, override(b, e.p))
		e.p.Name = "" // used
	}
	for _, e := range entries {
		switch {
		case e.p.Name == "":
			continue // a built-in's override, or nameless (reported)
		case disabledWithEntry[e.p.Name]:
			continue
		case isBuiltin(e.p.Name) && !e.hasPath:
			where := "the built-in plugins' directory"
			if d.builtin.BuiltinDir != "" {
				where = d.builtin.BuiltinDir
			}
			d.errorf(e.item, "plugin %q overrides a built-in whose binary is not in %s: run 'make build', or give its path", e.p.Name, where)
		case isBuiltin(e.p.Name):
			// A built-in that was not built, at a path of the file's: it
			// keeps the built-in's kinds and settings unless given.
			cfg.Plugins = append(cfg.Plugins, override(staticBuiltin(e.p.Name), e.p))
		default:
			e.p.Origin = OriginFile
			cfg.Plugins = append(cfg.Plugins, e.p)
		}
	}

	switch {
	case judgeNode == nil:
		cfg.CanaryJudge = cfg.defaultJudge()
	case judgeNode.Value == NoCanaryJudge || judgeNode.Value == "":
		cfg.CanaryJudge = judgeNode.Value
	default:
		p, ok := cfg.Plugin(judgeNode.Value)
		switch {
		case !ok:
			d.errorf(judgeNode, "canary_judge %s is not a configured plugin (configured: %s); name a monitoring source, or %q to promote canaries when their bake ends, unjudged",
				quote(judgeNode.Value), orNone(cfg.Names()), NoCanaryJudge)
		case !p.serves(sdk.KindMonitoringSource):
			d.errorf(judgeNode, "canary_judge %q is configured as %s, not as a monitoring-source", judgeNode.Value, kindNames(p.Kinds))
		default:
			cfg.CanaryJudge = p.Name
		}
	}
	return cfg
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// override is built-in b with what the file's entry f sets.
func override(b, f PluginConfig) PluginConfig {
	out := b
	out.Origin = OriginOverridden
	if f.Path != "" {
		out.Path = f.Path
	}
	if f.Kinds != nil {
		out.Kinds = f.Kinds
	}
	if f.Settings != nil {
		out.Settings = maps.Clone(b.Settings)
		if out.Settings == nil {
			out.Settings = make(map[string]string, len(f.Settings))
		}
		maps.Copy(out.Settings, f.Settings)
	}
	if f.Timeout != 0 {
		out.Timeout = f.Timeout
	}
	if f.StreamIdleTimeout != 0 {
		out.StreamIdleTimeout = f.StreamIdleTimeout
	}
	if f.StartTimeout != 0 {
		out.StartTimeout = f.StartTimeout
	}
	return out
}

// syntaxError places a YAML syntax error at the line the parser names
// (yaml.v3 gives no column).
func (d *configDecoder) syntaxError(err error) ConfigError {
	e := ConfigError{File: d.file, Line: 1, Col: 1, Msg: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		fmt.Sscan(m[1], &e.Line)
		e.Msg = strings.TrimPrefix(err.Error(), m[0])
	}
	e.Msg = "YAML syntax: " + clip(e.Msg)
	// yaml.v3 names a line, often the one before the problem, and no
	// column: an unclosed flow collection is found here instead.
	if pos, open, ok := unclosedFlow(d.data); ok {
		e.Line, e.Col = pos.line, pos.col
		e.Msg += fmt.Sprintf(" (the %q here is never closed)", open)
	} else {
		// The first line at which the file stops parsing is the problem's
		// (a block's prefix that ends at a line end is YAML too).
		if l := firstFailingLine(d.data); l >= e.Line {
			e.Line = l
		}
		e.Col = firstColumn(d.data, e.Line)
	}
	return e
}

// firstFailingLine is the smallest n such that the file's first n lines
// do not parse while its first n-1 do, found by bisection; 0 when the
// whole file parses.
func firstFailingLine(data []byte) int {
	var ends []int // offset after each line
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	parses := func(n int) bool {
		if n == 0 {
			return true
		}
		var doc yaml.Node
		return yaml.Unmarshal(data[:ends[n-1]], &doc) == nil
	}
	lo, hi := 0, len(ends)
	if parses(hi) {
		return 0
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if parses(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// mapping checks that n is a mapping without duplicate or unknown keys
// and hands each value to its field's function.
func (d *configDecoder) mapping(n *yaml.Node, what string, fields map[string]func(*yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping", what)
		return
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f, ok := fields[k.Value]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errorf(k, "a key in %s must be a name (known keys: %s)", what, strings.Join(sortedKeys(fields), ", "))
		case !ok:
			d.errorf(k, "unknown key %s in %s (known keys: %s)", quote(k.Value), what, strings.Join(sortedKeys(fields), ", "))
		case seen[k.Value]:
			d.errorf(k, "key %q appears twice in %s", k.Value, what)
		default:
			seen[k.Value] = true
			f(v)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validName keeps plugin names usable as a directory name and a command
// argument.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

var knownKinds = []sdk.Kind{sdk.KindDeployTarget, sdk.KindMonitoringSource, sdk.KindTicketing}

func (d *configDecoder) plugins(n *yaml.Node) []entry {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "plugins must be a list")
		return nil
	}
	var out []entry
	names := make(map[string]*yaml.Node)
	for _, item := range n.Content {
		e := entry{item: item}
		p := &e.p
		d.mapping(item, "a plugin", map[string]func(*yaml.Node){
			"name":     func(v *yaml.Node) { e.name = v; p.Name = d.str(v, "name") },
			"path":     func(v *yaml.Node) { e.hasPath = true; p.Path = d.str(v, "path") },
			"kinds":    func(v *yaml.Node) { e.kinds = true; p.Kinds = d.kinds(v) },
			"settings": func(v *yaml.Node) { p.Settings = d.settings(v) },
			"timeout":  func(v *yaml.Node) { p.Timeout = d.duration(v, "timeout") },
			"stream_idle_timeout": func(v *yaml.Node) {
				p.StreamIdleTimeout = d.duration(v, "stream_idle_timeout")
			},
			"start_timeout": func(v *yaml.Node) { p.StartTimeout = d.duration(v, "start_timeout") },
		})
		if item.Kind != yaml.MappingNode {
			continue
		}
		switch {
		case e.name == nil:
			d.errorf(item, "a plugin needs a name")
			continue
		case p.Name == "":
			continue // reported by str
		case !validName.MatchString(p.Name):
			d.errorf(e.name, "plugin name %s: use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit", quote(p.Name))
			continue
		case names[p.Name] != nil:
			d.errorf(e.name, "plugin %q is configured twice (first at line %d)", p.Name, names[p.Name].Line)
			continue
		}
		names[p.Name] = e.name
		if p.Path != "" {
			if !filepath.IsAbs(p.Path) {
				p.Path = filepath.Join(d.dir, p.Path)
			}
			p.Path = filepath.Clean(p.Path)
		}
		if _, ok := d.builtin.Plugin(p.Name); !ok && !isBuiltin(p.Name) {
			// Only an override of a built-in may leave these out; a
			// built-in that was not built is reported in decode.
			if !e.hasPath {
				d.errorf(item, "plugin %q needs a path to its binary", p.Name)
			}
			if !e.kinds {
				d.errorf(item, "plugin %q needs kinds (one or more of %s)", p.Name, kindList())
			}
			e.hasPath, e.kinds = true, true // reported once
		}
		out = append(out, e)
	}
	return out
}

// disable is the list of built-ins to drop.
func (d *configDecoder) disable(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "disable must be a list of built-in plugins (%s)", strings.Join(BuiltinNames(), ", "))
		return nil
	}
	var out []*yaml.Node
	seen := map[string]bool{}
	for _, k := range n.Content {
		switch {
		case k.Kind != yaml.ScalarNode || k.Tag == "!!null" || k.Value == "":
			d.errorf(k, "disable lists built-in plugins by name (%s)", strings.Join(BuiltinNames(), ", "))
		case !isBuiltin(k.Value):
			d.errorf(k, "%s is not a built-in plugin, so there is nothing to disable (built-ins: %s); to leave out a plugin of this file, delete its entry",
				quote(k.Value), strings.Join(BuiltinNames(), ", "))
		case seen[k.Value]:
			d.errorf(k, "%q is disabled twice", k.Value)
		default:
			seen[k.Value] = true
			out = append(out, k)
		}
	}
	return out
}
func kindList() string {
	s := make([]string, len(knownKinds))
	for i, k := range knownKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (d *configDecoder) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Value == "" {
		d.errorf(n, "%s must be a non-empty string", field)
		return ""
	}
	return n.Value
}

func (d *configDecoder) kinds(n *yaml.Node) []sdk.Kind {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errorf(n, "kinds must be a non-empty list of %s", kindList())
		return nil
	}
	var out []sdk.Kind
	for _, k := range n.Content {
		kind := sdk.Kind(k.Value)
		switch {
		case k.Kind != yaml.ScalarNode || !slices.Contains(knownKinds, kind):
			d.errorf(k, "unknown kind %s (known kinds: %s)", quote(k.Value), kindList())
		case slices.Contains(out, kind):
			d.errorf(k, "kind %q is listed twice", k.Value)
		default:
			out = append(out, kind)
		}
	}
	return out
}

func (d *configDecoder) settings(n *yaml.Node) map[string]string {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "settings must be a mapping of names to values")
		return nil
	}
	out := make(map[string]string)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode || k.Value == "":
			d.errorf(k, "a setting's name must be a non-empty string")
		case hasKey(out, k.Value):
			d.errorf(k, "setting %s appears twice", quote(k.Value))
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			d.errorf(v, "setting %s must have a single value (quote \"\" for an empty one)", quote(k.Value))
		default:
			out[k.Value] = v.Value
		}
	}
	return out
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func (d *configDecoder) duration(n *yaml.Node, field string) time.Duration {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s must be a duration like \"10s\" or \"2m\"", field)
		return 0
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		d.errorf(n, "%s: %s is not a positive duration like \"10s\" or \"2m\"", field, quote(n.Value))
		return 0
	}
	return v
}
