package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/warroom/warroom/store"
)

func TestPluginTrust(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t), store.WithClock(stepClock()))
	sumA, sumB := strings.Repeat("a", 64), strings.Repeat("b", 64)

	write := func(fn func(ctx context.Context, tx *store.Tx) error) {
		t.Helper()
		if _, err := s.Write(ctx, "alice", "plugins trust", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
			return store.Change{Summary: "trust"}, fn(ctx, tx)
		}); err != nil {
			t.Fatal(err)
		}
	}
	trusted := func(name string, want ...string) {
		t.Helper()
		got, err := s.TrustedChecksums(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("TrustedChecksums(%s) = %v, want %v", name, got, want)
		}
	}

	trusted("exec")
	write(func(ctx context.Context, tx *store.Tx) error {
		return tx.TrustPlugin(ctx, "exec", sumA, "/bin/exec", "alice")
	})
	write(func(ctx context.Context, tx *store.Tx) error {
		return tx.TrustPlugin(ctx, "exec", sumB, "/bin/exec", "bob")
	})
	write(func(ctx context.Context, tx *store.Tx) error {
		return tx.TrustPlugin(ctx, "tickets-local", sumA, "/bin/t", "alice")
	})
	trusted("exec", sumB, sumA) // newest first
	trusted("tickets-local", sumA)

	var revoked int
	write(func(ctx context.Context, tx *store.Tx) (err error) {
		revoked, err = tx.UntrustPlugin(ctx, "exec")
		return err
	})
	if revoked != 2 {
		t.Errorf("UntrustPlugin revoked %d, want 2", revoked)
	}
	trusted("exec")
	trusted("tickets-local", sumA) // other plugins are untouched

	// Trusting a revoked checksum again revives it.
	write(func(ctx context.Context, tx *store.Tx) error {
		prev, err := tx.TrustedChecksums(ctx, "exec")
		if err != nil || len(prev) != 0 {
			t.Errorf("Tx.TrustedChecksums = %v, %v; want none", prev, err)
		}
		return tx.TrustPlugin(ctx, "exec", sumA, "/opt/exec", "carol")
	})
	trusted("exec", sumA)

	all, err := s.PluginTrusts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("PluginTrusts: %d rows, want 3: %+v", len(all), all)
	}
	for _, p := range all {
		switch {
		case p.Name == "exec" && p.SHA256 == sumA:
			if p.RevokedAt != nil || p.TrustedBy != "carol" || p.Path != "/opt/exec" {
				t.Errorf("revived trust: %+v", p)
			}
		case p.Name == "exec" && p.SHA256 == sumB:
			if p.RevokedAt == nil || !p.RevokedAt.After(p.At) {
				t.Errorf("revoked trust: %+v", p)
			}
		case p.Name == "tickets-local":
			if p.RevokedAt != nil || p.At.IsZero() {
				t.Errorf("tickets-local trust: %+v", p)
			}
		default:
			t.Errorf("unexpected trust %+v", p)
		}
	}
}

func TestTrustPluginRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t))
	for _, tc := range []struct{ name, sum, by string }{
		{"exec", strings.Repeat("A", 64), "alice"}, // upper case
		{"exec", "abc", "alice"},
		{"", strings.Repeat("a", 64), "alice"},
		{"exec", strings.Repeat("a", 64), ""},
	} {
		_, err := s.Write(ctx, "alice", "plugins trust", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
			return store.Change{Summary: "trust"}, tx.TrustPlugin(ctx, tc.name, tc.sum, "", tc.by)
		})
		if err == nil {
			t.Errorf("TrustPlugin(%q, %q, by %q) succeeded", tc.name, tc.sum, tc.by)
		}
	}
	if all, err := s.PluginTrusts(ctx); err != nil || len(all) != 0 {
		t.Errorf("after refusals: %v, %v", all, err)
	}
}
