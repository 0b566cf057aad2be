package host

import (
	"errors"
	"fmt"
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
	File    string
	Plugins []PluginConfig
}

// PluginConfig is one configured plugin.
type PluginConfig struct {
	Name string
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

// DefaultConfig is the configuration used when there is no configuration
// file: every built-in plugin whose binary is in pluginDir, with its
// default settings and the default deadlines. So a fresh `make build` lists
// bin/plugins/exec and bin/plugins/tickets-local without any setup.
func DefaultConfig(pluginDir string) *Config {
	cfg := &Config{}
	dir, err := filepath.Abs(pluginDir)
	if err != nil {
		return cfg
	}
	for _, b := range builtins {
		path := filepath.Join(dir, b.name)
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		cfg.Plugins = append(cfg.Plugins, PluginConfig{Name: b.name, Path: path, Kinds: slices.Clone(b.kinds), Settings: maps.Clone(b.settings)})
	}
	return cfg
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

func (es ConfigErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// LoadConfig reads a plugin configuration file. It is strict: unknown
// keys, unknown kinds, duplicate names, a missing path or a bad duration
// are errors, all reported at once as ConfigErrors, each with
// file:line:col. A relative path is relative to the file's directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("plugin configuration %s does not exist", path)
		}
		return nil, fmt.Errorf("read plugin configuration: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("plugin configuration %s: %w", path, err)
	}
	d := &configDecoder{file: path, dir: filepath.Dir(abs)}
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
	cfg.File = abs
	return cfg, nil
}

// configDecoder walks the YAML node tree, collecting every error.
type configDecoder struct {
	file string
	dir  string
	errs ConfigErrors
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (d *configDecoder) errorf(n *yaml.Node, format string, args ...any) {
	e := ConfigError{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func (d *configDecoder) decode(data []byte) *Config {
	cfg := &Config{}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		e := ConfigError{File: d.file, Line: 1, Col: 1, Msg: err.Error()}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &e.Line)
			e.Msg = strings.TrimPrefix(err.Error(), m[0])
		}
		d.errs = append(d.errs, e)
		return cfg
	}
	if len(doc.Content) == 0 {
		return cfg // an empty file configures no plugin
	}
	root := doc.Content[0]
	d.mapping(root, "the configuration", map[string]func(*yaml.Node){
		"plugins": func(n *yaml.Node) { cfg.Plugins = d.plugins(n) },
	})
	return cfg
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
		case !ok:
			d.errorf(k, "unknown key %q in %s (known keys: %s)", k.Value, what, strings.Join(sortedKeys(fields), ", "))
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

func (d *configDecoder) plugins(n *yaml.Node) []PluginConfig {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "plugins must be a list")
		return nil
	}
	var out []PluginConfig
	names := make(map[string]*yaml.Node)
	for _, item := range n.Content {
		var (
			p                  PluginConfig
			nameNode, pathNode *yaml.Node
			hasKinds           bool
		)
		d.mapping(item, "a plugin", map[string]func(*yaml.Node){
			"name":     func(v *yaml.Node) { nameNode = v; p.Name = d.str(v, "name") },
			"path":     func(v *yaml.Node) { pathNode = v; p.Path = d.str(v, "path") },
			"kinds":    func(v *yaml.Node) { hasKinds = true; p.Kinds = d.kinds(v) },
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
		case nameNode == nil:
			d.errorf(item, "a plugin needs a name")
		case p.Name != "" && !validName.MatchString(p.Name):
			d.errorf(nameNode, "plugin name %q: use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit", p.Name)
		case names[p.Name] != nil:
			d.errorf(nameNode, "plugin %q is configured twice (first at line %d)", p.Name, names[p.Name].Line)
		default:
			names[p.Name] = nameNode
		}
		switch {
		case pathNode == nil:
			d.errorf(item, "plugin %q needs a path to its binary", p.Name)
		case p.Path != "" && !filepath.IsAbs(p.Path):
			p.Path = filepath.Join(d.dir, p.Path)
		}
		p.Path = filepath.Clean(p.Path)
		if !hasKinds {
			d.errorf(item, "plugin %q needs kinds (one or more of %s)", p.Name, kindList())
		}
		out = append(out, p)
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
			d.errorf(k, "unknown kind %q (known kinds: %s)", k.Value, kindList())
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
			d.errorf(k, "setting %q appears twice", k.Value)
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			d.errorf(v, "setting %q must have a single value (quote \"\" for an empty one)", k.Value)
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
		d.errorf(n, "%s: %q is not a positive duration like \"10s\" or \"2m\"", field, n.Value)
		return 0
	}
	return v
}
