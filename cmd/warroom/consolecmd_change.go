package main

import (
	"context"
)

// consoleCommander carries out the console's commands (tui.Commander) on
// the console's database, through the app's plugin host.
// FileChange files a change request for release with the configured
// ticketing plugin, requested by actor (the person at the console), and
// records it, audited. Filing it again returns the change filed before.
func (c *consoleCommander) FileChange(ctx context.Context, release, actor string) (string, error) {
	if actor == "" {
		actor = c.a.actor
	}
	ch, _, err := c.a.fileChange(ctx, c.s, release, "", "", actor)
	if err != nil {
		return "", err
	}
	return ch.ID, nil
}
