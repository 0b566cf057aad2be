package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/warroom/warroom/plugins/sdk"
)

// baseVars are the extra vars of every run: each warroom_ var is always
// defined (empty, 0 or [] where the phase does not carry it), so that a
// playbook can use any of them without a default() filter.
func baseVars(c config, phase string, tg sdk.Target) map[string]any {
	return map[string]any{
		"warroom_phase":           phase,
		"warroom_service":         tg.Service,
		"warroom_environment":     tg.Environment,
		"warroom_region":          tg.Region,
		"warroom_version":         "",
		"warroom_from_version":    "",
		"warroom_strategy":        "",
		"warroom_weight":          0,
		"warroom_weights":         []any{},
		"warroom_batch_size":      0,
		"warroom_instances":       0,
		"warroom_service_kind":    "",
		"warroom_artifact_digest": "",
		"warroom_artifact_ref":    "",
		"warroom_run_id":          "",
		"warroom_step":            0,
		"warroom_attempt":         0,
		"warroom_idempotency_key": "",
		"warroom_reason":          "",
		"warroom_checks":          []any{},
		"warroom_settings":        map[string]any{},
		"warroom_status_file":     "",
		"warroom_state_dir":       c.stateDir,
	}
}

func settingsVar(s map[string]string) map[string]any {
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = v
	}
	return out
}

func weightsVar(ws []sdk.TrafficWeight) []any {
	out := make([]any, len(ws))
	for i, w := range ws {
		out[i] = map[string]any{"version": w.Version, "percent": w.Percent}
	}
	return out
}

func stringsVar(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// newVersion picks, of a traffic split, the version traffic moves to:
// the one last deployed (or rolled back to) here if the split names it,
// else the first, as warroom's engine lists it.
func newVersion(ws []sdk.TrafficWeight, deployed string) sdk.TrafficWeight {
	for _, w := range ws {
		if w.Version == deployed {
			return w
		}
	}
	return ws[0]
}

// writeVars writes the extra-vars file of one run: the plugin's
// extra_vars setting, then warroom's vars. The file is YAML in JSON's
// flow syntax, with every string warroom passes tagged !unsafe: a
// version, a reason or a setting is data, never a template that ansible
// would evaluate (a rollback reason may quote a smoke test's response).
// The extra_vars of the plugin's own configuration stay templatable.
func writeVars(path string, c config, vars map[string]any) error {
	var b bytes.Buffer
	b.WriteString("{")
	keys := make([]string, 0, len(c.extraVars)+len(vars))
	for k := range c.extraVars {
		keys = append(keys, k)
	}
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",\n ")
		}
		if err := writeJSON(&b, k); err != nil {
			return err
		}
		b.WriteString(": ")
		var err error
		if v, ok := vars[k]; ok {
			err = writeUnsafe(&b, v)
		} else {
			err = writeJSON(&b, c.extraVars[k])
		}
		if err != nil {
			return fmt.Errorf("extra var %s: %w", k, err)
		}
	}
	b.WriteString("}\n")
	return c.mode.WriteFile(path, b.Bytes())
}

// writeUnsafe writes v as flow YAML with its strings tagged !unsafe.
func writeUnsafe(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case string:
		b.WriteString("!unsafe ")
		return writeJSON(b, v)
	case []any:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeUnsafe(b, e); err != nil {
				return err
			}
		}
		b.WriteString("]")
		return nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSON(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := writeUnsafe(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteString("}")
		return nil
	default: // numbers, booleans
		return writeJSON(b, v)
	}
}

// writeJSON writes v as JSON, which YAML reads as flow YAML: a JSON
// string's escapes are all valid in a YAML double-quoted scalar.
func writeJSON(b *bytes.Buffer, v any) error {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(out.Bytes(), []byte("\n")))
	return nil
}

// callFiles returns a fresh path for a run's extra vars and the path its
// status file would have, and a func that removes both.
func callFiles(c config, phase string) (varsPath, statusPath string, cleanup func(), err error) {
	f, err := c.mode.CreateTemp(filepath.Join(c.stateDir, callsDir), phase+"-*.yml")
	if err != nil {
		return "", "", nil, err
	}
	f.Close()
	varsPath = f.Name()
	statusPath = varsPath[:len(varsPath)-len(".yml")] + ".status.json"
	return varsPath, statusPath, func() {
		os.Remove(varsPath)
		os.Remove(statusPath)
	}, nil
}
