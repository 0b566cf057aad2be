package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func ticketingChecks() []check {
	return []check{
		{name: "ticketing/describe", run: checkTicketingDescribe},
		{name: "ticketing/create-change", mutates: true, run: checkCreateChange},
		{name: "ticketing/create-change-idempotent", mutates: true, run: checkCreateChangeIdempotent},
		{name: "ticketing/get-change", mutates: true, run: checkGetChange},
		{name: "ticketing/get-unknown-change", run: checkGetUnknownChange},
		{name: "ticketing/comment", mutates: true, run: checkComment},
		{name: "ticketing/invalid-transition", mutates: true, run: checkInvalidTransition},
		{name: "ticketing/notify", mutates: true, run: checkNotify},
	}
}

func (s *state) ticketingCapabilities(ctx context.Context) (sdk.TicketingCapabilities, error) {
	if s.tcaps != nil {
		return *s.tcaps, nil
	}
	c, err := s.subj.Ticketing().Describe(ctx)
	if err != nil {
		return c, called("Describe", err)
	}
	var problems []string
	if strings.TrimSpace(c.System) == "" {
		problems = append(problems, "no system name")
	}
	if len(c.States) == 0 {
		problems = append(problems, "no states")
	}
	seen := map[string]bool{}
	for i, st := range c.States {
		switch {
		case strings.TrimSpace(st) == "":
			problems = append(problems, fmt.Sprintf("state %d has no name", i+1))
		case seen[st]:
			problems = append(problems, fmt.Sprintf("state %q listed twice", st))
		}
		seen[st] = true
	}
	if len(problems) > 0 {
		return c, malformedf("Describe: %s", strings.Join(problems, "; "))
	}
	s.tcaps = &c
	return c, nil
}

func checkTicketingDescribe(ctx context.Context, s *state) (string, error) {
	c, err := s.ticketingCapabilities(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("system %s; states %s", c.System, strings.Join(c.States, ", ")), nil
}

func (s *state) changeRequest() sdk.CreateChangeRequest {
	start := time.Now().Add(time.Hour).Truncate(time.Minute).UTC()
	return sdk.CreateChangeRequest{
		IdempotencyKey: s.key("change/1"),
		Spec: sdk.ChangeSpec{
			Release:      "conformance",
			Title:        "Conformance suite change " + s.runID,
			Description:  "Filed by warroom's plugin conformance suite in a sandbox.",
			Class:        "normal",
			Risk:         10,
			Impact:       "none: a sandbox",
			BackoutPlan:  "nothing to back out",
			Stakeholders: []string{"conformance-team"},
			Services:     []string{suiteTarget.Service},
			WindowStart:  start,
			WindowEnd:    start.Add(time.Hour),
			RequestedBy:  "conformance-suite",
		},
	}
}

// validChange checks a change the plugin returned.
func (s *state) validChange(call string, c sdk.Change) error {
	var problems []string
	if strings.TrimSpace(c.ID) == "" {
		problems = append(problems, "the change has no id")
	}
	if s.tcaps != nil && !slices.Contains(s.tcaps.States, c.State) {
		problems = append(problems, fmt.Sprintf("state %q is not one of the declared states (%s)", c.State, strings.Join(s.tcaps.States, ", ")))
	}
	if len(problems) > 0 {
		return malformedf("%s: %s", call, strings.Join(problems, "; "))
	}
	return nil
}

func (s *state) created(ctx context.Context) (sdk.Change, error) {
	if s.change != nil {
		return *s.change, nil
	}
	if _, err := s.ticketingCapabilities(ctx); err != nil {
		return sdk.Change{}, fmt.Errorf("not checked: %w", err)
	}
	req := s.changeRequest()
	c, err := s.subj.Ticketing().CreateChange(ctx, req)
	if err != nil {
		return c, called("CreateChange", err)
	}
	if err := s.validChange("CreateChange", c); err != nil {
		return c, err
	}
	if c.Spec.Title != req.Spec.Title {
		return c, malformedf("CreateChange: the change's title is %q, not the %q filed", c.Spec.Title, req.Spec.Title)
	}
	s.change = &c
	return c, nil
}

func checkCreateChange(ctx context.Context, s *state) (string, error) {
	c, err := s.created(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("filed %s, %s", c.ID, c.State), nil
}

func checkCreateChangeIdempotent(ctx context.Context, s *state) (string, error) {
	first, err := s.created(ctx)
	if err != nil {
		return "", fmt.Errorf("first CreateChange: %w", err)
	}
	req := s.changeRequest()
	again, err := s.subj.Ticketing().CreateChange(ctx, req)
	if err != nil {
		return "", called("CreateChange repeated with the same key", err)
	}
	if again.ID != first.ID {
		return "", failf("CreateChange repeated with idempotency key %q filed another change (%s, then %s): one key must give one change", req.IdempotencyKey, first.ID, again.ID)
	}
	return "same key, same change " + first.ID, nil
}

func checkGetChange(ctx context.Context, s *state) (string, error) {
	want, err := s.created(ctx)
	if err != nil {
		return "", err
	}
	got, err := s.subj.Ticketing().GetChange(ctx, want.ID)
	if err != nil {
		return "", called("GetChange", err)
	}
	if err := s.validChange("GetChange", got); err != nil {
		return "", err
	}
	if got.ID != want.ID || got.Spec.Title != want.Spec.Title {
		return "", failf("GetChange(%s) returned change %s titled %q, not the change filed", want.ID, got.ID, got.Spec.Title)
	}
	return fmt.Sprintf("%s is %s", got.ID, got.State), nil
}

func checkGetUnknownChange(ctx context.Context, s *state) (string, error) {
	const id = "CONFORMANCE-NO-SUCH-CHANGE"
	_, err := s.subj.Ticketing().GetChange(ctx, id)
	if err == nil {
		return "", failf("GetChange(%s) found a change that does not exist: answer CodeNotFound", id)
	}
	code, ok := answered(err)
	if !ok {
		return "", called("GetChange", err)
	}
	if code != sdk.CodeNotFound || !errors.Is(err, sdk.ErrNotFound) {
		return "", failf("GetChange of an unknown id answered %s, want CodeNotFound: %v", codeName(code), err)
	}
	return "CodeNotFound", nil
}

func checkComment(ctx context.Context, s *state) (string, error) {
	c, err := s.created(ctx)
	if err != nil {
		return "", err
	}
	body := "A comment from the conformance suite, " + s.runID
	got, err := s.subj.Ticketing().Comment(ctx, sdk.CommentRequest{ID: c.ID, Author: "conformance-suite", Body: body})
	if err != nil {
		return "", called("Comment", err)
	}
	if err := s.validChange("Comment", got); err != nil {
		return "", err
	}
	for _, cm := range got.Comments {
		if cm.Body == body {
			return fmt.Sprintf("%s has %s", got.ID, count(len(got.Comments), "comment")), nil
		}
	}
	return "", failf("the change Comment returned does not carry the comment added")
}

// endStates are the usual names of the end of a change's life; the suite
// expects a change just filed not to jump there.
var endStates = []string{"implemented", "closed", "done", "completed", "resolved"}

func checkInvalidTransition(ctx context.Context, s *state) (string, error) {
	c, err := s.created(ctx)
	if err != nil {
		return "", err
	}
	caps, err := s.ticketingCapabilities(ctx)
	if err != nil {
		return "", err
	}
	to := ""
	for _, st := range endStates {
		if st != c.State && slices.Contains(caps.States, st) {
			to = st
			break
		}
	}
	if to == "" {
		// No usual end state: the last declared one, which the states'
		// lifecycle order puts furthest from the start.
		for i := len(caps.States) - 1; i >= 0 && to == ""; i-- {
			if caps.States[i] != c.State {
				to = caps.States[i]
			}
		}
	}
	if to == "" {
		return "", skipf("not applicable: the system declares no state a change could move to")
	}
	got, err := s.subj.Ticketing().Transition(ctx, sdk.TransitionRequest{
		ID: c.ID, ToState: to, Actor: "conformance-suite", Role: "release-manager", Reason: "conformance: this move must be refused",
	})
	if err == nil {
		return "", failf("Transition moved change %s from %s straight to %s (now %s): a change just filed must not jump to the end of its life; refuse with CodeFailedPrecondition", c.ID, c.State, to, got.State)
	}
	code, ok := answered(err)
	if !ok {
		return "", called("Transition", err)
	}
	if code != sdk.CodeFailedPrecondition {
		return "", failf("Transition from %s to %s refused with %s, want CodeFailedPrecondition: %v", c.State, to, codeName(code), err)
	}
	return fmt.Sprintf("%s -> %s refused with CodeFailedPrecondition", c.State, to), nil
}

func checkNotify(ctx context.Context, s *state) (string, error) {
	c, err := s.created(ctx)
	if err != nil {
		return "", err
	}
	to := []string{"conformance-team"}
	res, err := s.subj.Ticketing().Notify(ctx, sdk.NotifyRequest{
		IdempotencyKey: s.key("notify/1"),
		To:             to,
		Subject:        "Conformance suite",
		Body:           "A message from warroom's plugin conformance suite, in a sandbox.",
		Severity:       "info",
		ChangeID:       c.ID,
	})
	if err != nil {
		return "", called("Notify", err)
	}
	for i, d := range res.Delivered {
		if strings.TrimSpace(d) == "" {
			return "", malformedf("Notify: delivered entry %d is empty", i+1)
		}
	}
	return fmt.Sprintf("delivered to %s", strings.Join(res.Delivered, ", ")), nil
}
