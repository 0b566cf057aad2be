package host

import (
	"context"

	"github.com/warroom/warroom/plugins/sdk"
)

// ticketing is the hardened client of a plugin's ticketing system (see
// deployTarget).
type ticketing struct{ b backend }

var _ sdk.Ticketing = (*ticketing)(nil)

func (t *ticketing) Describe(ctx context.Context) (sdk.TicketingCapabilities, error) {
	return unary(ctx, t.b, "Describe", func(ctx context.Context, c *sdk.Conn) (sdk.TicketingCapabilities, error) {
		return c.Ticketing().Describe(ctx)
	}, checkTicketingCapabilities)
}

func (t *ticketing) CreateChange(ctx context.Context, req sdk.CreateChangeRequest) (sdk.Change, error) {
	return unary(ctx, t.b, "CreateChange", func(ctx context.Context, c *sdk.Conn) (sdk.Change, error) {
		return c.Ticketing().CreateChange(ctx, req)
	}, checkChange(""))
}

func (t *ticketing) GetChange(ctx context.Context, id string) (sdk.Change, error) {
	return unary(ctx, t.b, "GetChange", func(ctx context.Context, c *sdk.Conn) (sdk.Change, error) {
		return c.Ticketing().GetChange(ctx, id)
	}, checkChange(id))
}

func (t *ticketing) Comment(ctx context.Context, req sdk.CommentRequest) (sdk.Change, error) {
	return unary(ctx, t.b, "Comment", func(ctx context.Context, c *sdk.Conn) (sdk.Change, error) {
		return c.Ticketing().Comment(ctx, req)
	}, checkChange(req.ID))
}

func (t *ticketing) Transition(ctx context.Context, req sdk.TransitionRequest) (sdk.Change, error) {
	return unary(ctx, t.b, "Transition", func(ctx context.Context, c *sdk.Conn) (sdk.Change, error) {
		return c.Ticketing().Transition(ctx, req)
	}, checkChange(req.ID))
}

func (t *ticketing) Notify(ctx context.Context, req sdk.NotifyRequest) (sdk.NotifyResult, error) {
	return unary(ctx, t.b, "Notify", func(ctx context.Context, c *sdk.Conn) (sdk.NotifyResult, error) {
		return c.Ticketing().Notify(ctx, req)
	}, nil)
}
