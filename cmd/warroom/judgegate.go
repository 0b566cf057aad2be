package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/plugins/host"
)

// canaryJudgeGate adds a pre-flight check to canary steps: a canary needs
// a judge. Without one the engine would promote every canary when its
// bake ends, having judged nothing, which is what an operator who shipped
// a canary did not ask for. The plugin configuration may say so on
// purpose (canary_judge: none); otherwise the step fails pre-flight with
// what is missing and how to fix it.
type canaryJudgeGate struct {
	next deploy.Gate // the policy gate; nil for none
	cfg  *host.Config
}

var _ deploy.Gate = canaryJudgeGate{}

func (g canaryJudgeGate) Preflight(ctx context.Context, r *deploy.Run, s *deploy.Step, now time.Time) []deploy.Check {
	var out []deploy.Check
	if g.next != nil {
		out = g.next.Preflight(ctx, r, s, now)
	}
	if s.Kind != deploy.KindService || s.Strategy != model.Canary {
		return out
	}
	return append(out, canaryJudgeCheck(g.cfg))
}

// canaryJudgeCheck is the check of a canary step under cfg.
func canaryJudgeCheck(cfg *host.Config) deploy.Check {
	c := deploy.Check{Name: "canary-judge"}
	switch cfg.CanaryJudge {
	case host.NoCanaryJudge:
		c.Passed = true
		c.Message = fmt.Sprintf("canary_judge: none in %s: the canary is promoted when its bake ends, unjudged", cfg.File)
	case "":
		c.Message = "no monitoring source judges canaries (" + missingJudge(cfg) + "). " +
			"Configure one: build the built-in scrape source ('make build'), or name a monitoring source with canary_judge in the plugin configuration; " +
			"or write canary_judge: none there to promote canaries when their bake ends, unjudged"
	default:
		c.Passed = true
		c.Message = "judged by the monitoring source " + cfg.CanaryJudge
	}
	return c
}

// missingJudge says why the default judge is not there.
func missingJudge(cfg *host.Config) string {
	j := host.DefaultCanaryJudge
	switch {
	case slices.Contains(cfg.Disabled, j):
		return fmt.Sprintf("%s disables the built-in %s", cfg.File, j)
	case cfg.BuiltinDir == "" && cfg.File == "":
		return "no plugin is configured"
	case cfg.File == "":
		return fmt.Sprintf("the built-in %s is not in %s", j, cfg.BuiltinDir)
	case cfg.BuiltinDir == "":
		return fmt.Sprintf("%s configures no %s", cfg.File, j)
	}
	return fmt.Sprintf("the built-in %s is not in %s, and %s configures none", j, filepath.Clean(cfg.BuiltinDir), cfg.File)
}
