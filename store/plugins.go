package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// PluginTrust is one checksum of a plugin binary an operator trusted. The
// plugin host launches a binary only if its SHA-256 has an unrevoked row
// for the plugin's name (or the build that made it recorded it).
type PluginTrust struct {
	Name      string     `json:"name"`
	SHA256    string     `json:"sha256"`
	Path      string     `json:"path,omitempty"` // where the binary was when it was trusted, for people
	TrustedBy string     `json:"trusted_by"`
	At        time.Time  `json:"at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// sha256Hex is how checksums are stored: lower-case hex, so that one
// binary never gets two rows that differ only in case.
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// TrustPlugin records that by trusts the binary of plugin name with the
// given SHA-256 (64 lower-case hex digits). Trusting a checksum that was
// trusted before, revoked or not, makes it trusted again with the new
// path, actor and time. Other checksums of the plugin are left as they
// are: callers that mean "replace" revoke them first (UntrustPlugin).
func (t *Tx) TrustPlugin(ctx context.Context, name, sha256, path, by string) error {
	if name == "" || by == "" {
		return fmt.Errorf("store: trust plugin %q: name and actor are required", name)
	}
	if !sha256Hex.MatchString(sha256) {
		return fmt.Errorf("store: trust plugin %s: %q is not a SHA-256 in lower-case hex (64 digits)", name, sha256)
	}
	_, err := t.tx.ExecContext(ctx, `
		INSERT INTO plugin_trust (name, sha256, path, trusted_by, at, revoked_at)
		VALUES (?, ?, ?, ?, ?, NULL)
		ON CONFLICT (name, sha256) DO UPDATE SET
			path       = excluded.path,
			trusted_by = excluded.trusted_by,
			at         = excluded.at,
			revoked_at = NULL`,
		name, sha256, path, by, formatTime(t.now))
	if err != nil {
		return fmt.Errorf("store: trust plugin %s: %w", name, t.s.busy(err))
	}
	return nil
}

// UntrustPlugin revokes every trusted checksum of plugin name and returns
// how many it revoked (0 when none was trusted). Rows are kept, revoked,
// as history.
func (t *Tx) UntrustPlugin(ctx context.Context, name string) (int, error) {
	res, err := t.tx.ExecContext(ctx,
		`UPDATE plugin_trust SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL`,
		formatTime(t.now), name)
	if err != nil {
		return 0, fmt.Errorf("store: untrust plugin %s: %w", name, t.s.busy(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: untrust plugin %s: %w", name, err)
	}
	return int(n), nil
}

// TrustedChecksums returns the unrevoked trusted checksums of plugin name,
// newest first; none is an empty slice, not an error.
func (s *Store) TrustedChecksums(ctx context.Context, name string) ([]string, error) {
	sums, err := trustedChecksums(ctx, s.r, name)
	if err != nil {
		return nil, fmt.Errorf("store: trusted checksums of %s: %w", name, s.busy(err))
	}
	return sums, nil
}

// TrustedChecksums is Store.TrustedChecksums as this transaction sees it,
// so that a command replacing a trust can record what it replaced.
func (t *Tx) TrustedChecksums(ctx context.Context, name string) ([]string, error) {
	sums, err := trustedChecksums(ctx, t.tx, name)
	if err != nil {
		return nil, fmt.Errorf("store: trusted checksums of %s: %w", name, t.s.busy(err))
	}
	return sums, nil
}

func trustedChecksums(ctx context.Context, q queryer, name string) ([]string, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT sha256 FROM plugin_trust WHERE name = ? AND revoked_at IS NULL ORDER BY at DESC, sha256`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sums := []string{}
	for rows.Next() {
		var sum string
		if err := rows.Scan(&sum); err != nil {
			return nil, err
		}
		sums = append(sums, sum)
	}
	return sums, rows.Err()
}

// PluginTrusts returns every trust record, revoked ones included, by name
// and then oldest first.
func (s *Store) PluginTrusts(ctx context.Context) ([]PluginTrust, error) {
	rows, err := s.r.QueryContext(ctx,
		`SELECT name, sha256, path, trusted_by, at, revoked_at FROM plugin_trust ORDER BY name, at, sha256`)
	if err != nil {
		return nil, fmt.Errorf("store: plugin trusts: %w", s.busy(err))
	}
	defer rows.Close()
	var out []PluginTrust
	for rows.Next() {
		var (
			p       PluginTrust
			at      string
			revoked sql.NullString
		)
		if err := rows.Scan(&p.Name, &p.SHA256, &p.Path, &p.TrustedBy, &at, &revoked); err != nil {
			return nil, fmt.Errorf("store: plugin trusts: %w", err)
		}
		if p.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("store: plugin trust %s %s: at %q: %w", p.Name, p.SHA256, at, err)
		}
		if revoked.Valid {
			r, err := parseTime(revoked.String)
			if err != nil {
				return nil, fmt.Errorf("store: plugin trust %s %s: revoked_at %q: %w", p.Name, p.SHA256, revoked.String, err)
			}
			p.RevokedAt = &r
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: plugin trusts: %w", s.busy(err))
	}
	return out, nil
}

// PluginFault is the last fault a warroom process saw of a plugin: its
// class (crashed, timeout, malformed, refused, handshake, untrusted), the
// call, the message, when, and which process (for people: "warroom deploy
// start (pid 4242 on host)").
type PluginFault struct {
	Name    string    `json:"name"`
	Fault   string    `json:"fault"`
	Call    string    `json:"call"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	Process string    `json:"process"`
}

// maxFaultMessage caps a stored fault's message: a plugin's error text is
// its own, and one that writes megabytes must not fill the database.
const maxFaultMessage = 4096

// RecordPluginFault replaces the plugin's last fault with f, unless the
// one stored is newer (processes record concurrently and clocks step).
// It is a single statement outside the audited command path: faults are
// telemetry, and recording one must not wait behind an audit write for
// long (callers bound ctx).
func (s *Store) RecordPluginFault(ctx context.Context, f PluginFault) error {
	if f.Name == "" || f.Fault == "" {
		return fmt.Errorf("store: plugin fault: name and fault are required")
	}
	msg := f.Message
	if len(msg) > maxFaultMessage {
		cut := maxFaultMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	_, err := s.w.ExecContext(ctx, `
		INSERT INTO plugin_faults (name, fault, call, message, at, process) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			fault = excluded.fault, call = excluded.call, message = excluded.message,
			at = excluded.at, process = excluded.process
		WHERE excluded.at >= plugin_faults.at`,
		f.Name, f.Fault, f.Call, msg, formatTime(f.At), f.Process)
	if err != nil {
		return fmt.Errorf("store: record fault of plugin %s: %w", f.Name, s.busy(err))
	}
	return nil
}

// PluginFaults returns the last fault of every plugin that had one, by
// name.
func (s *Store) PluginFaults(ctx context.Context) (map[string]PluginFault, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, fault, call, message, at, process FROM plugin_faults`)
	if err != nil {
		return nil, fmt.Errorf("store: plugin faults: %w", s.busy(err))
	}
	defer rows.Close()
	out := map[string]PluginFault{}
	for rows.Next() {
		var (
			f  PluginFault
			at string
		)
		if err := rows.Scan(&f.Name, &f.Fault, &f.Call, &f.Message, &at, &f.Process); err != nil {
			return nil, fmt.Errorf("store: plugin faults: %w", err)
		}
		if f.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("store: plugin fault of %s: at %q: %w", f.Name, at, err)
		}
		out[f.Name] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: plugin faults: %w", s.busy(err))
	}
	return out, nil
}
