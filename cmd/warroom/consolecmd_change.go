package main

import (
	"context"

	"github.com/warroom/warroom/core/policy"
)

// FileChange files a change request for release with the configured
// ticketing plugin, requested by the console's identity as resolved now
// (the one the policy checked: the requester is who four-eyes later
// keeps from approving it), and records it, audited. Filing it again
// returns the change filed before. The TUI's actor, fixed when the
// console opened, is not used, as Operate does not.
func (c *consoleCommander) FileChange(ctx context.Context, release, _ string) (string, error) {
	var id string
	err := c.act(ctx, func() error {
		// The same rule as 'warroom change create': refused, nothing is
		// filed and the refusal is audited.
		if err := c.authorize(ctx, "warroom change create", policy.Request{Action: policy.ChangeCreate, Release: release}); err != nil {
			return err
		}
		ch, _, err := c.a.fileChange(ctx, c.s, release, "", "", c.a.actor)
		if err != nil {
			return err
		}
		id = ch.ID
		return nil
	})
	return id, err
}
