package main

import (
	"context"

	"github.com/warroom/warroom/core/policy"
)

// consoleCommander carries out the console's commands (tui.Commander) on
// the console's database, through the app's plugin host.
// FileChange files a change request for release with the configured
// ticketing plugin, requested by actor (the person at the console), and
// records it, audited. Filing it again returns the change filed before.
func (c *consoleCommander) FileChange(ctx context.Context, release, actor string) (string, error) {
	var id string
	err := c.act(ctx, func() error {
		// The same rule as 'warroom change create': refused, nothing is
		// filed and the refusal is audited.
		if err := c.authorize(ctx, "warroom change create", policy.Request{Action: policy.ChangeCreate, Release: release}); err != nil {
			return err
		}
		if actor == "" {
			actor = c.a.actor
		}
		ch, _, err := c.a.fileChange(ctx, c.s, release, "", "", actor)
		if err != nil {
			return err
		}
		id = ch.ID
		return nil
	})
	return id, err
}
