package main

import (
	"fmt"
	"slices"
	"strings"
)

// The states of a change.
const (
	stateDraft        = "draft"
	stateSubmitted    = "submitted"
	stateApproved     = "approved"
	stateScheduled    = "scheduled"
	stateImplementing = "implementing"
	stateImplemented  = "implemented"
	stateClosed       = "closed"
	stateRejected     = "rejected"
	stateCancelled    = "cancelled"
	stateFailed       = "failed"
)

// states lists every state, in lifecycle order.
var states = []string{
	stateDraft, stateSubmitted, stateApproved, stateScheduled, stateImplementing,
	stateImplemented, stateClosed, stateRejected, stateCancelled, stateFailed,
}

// transitions is the state machine: the states each state may move to.
var transitions = map[string][]string{
	stateDraft:        {stateSubmitted, stateCancelled},
	stateSubmitted:    {stateApproved, stateRejected, stateDraft, stateCancelled},
	stateApproved:     {stateScheduled, stateImplementing, stateCancelled},
	stateScheduled:    {stateImplementing, stateCancelled},
	stateImplementing: {stateImplemented, stateFailed},
	stateImplemented:  {stateClosed},
	stateFailed:       {stateClosed},
	stateRejected:     {stateDraft, stateClosed},
	stateCancelled:    nil,
	stateClosed:       nil,
}

func knownState(s string) bool { return slices.Contains(states, s) }

func canMove(from, to string) bool { return slices.Contains(transitions[from], to) }

// refusal explains why a change cannot move from one state to another.
func refusal(id, from, to string) string {
	next := transitions[from]
	if len(next) == 0 {
		return fmt.Sprintf("change %s is %s, a final state; it cannot move to %s", id, from, to)
	}
	return fmt.Sprintf("change %s is %s; it can move to %s, not %s", id, from, orList(next), to)
}

func orList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Change classes.
const (
	classStandard  = "standard"
	classNormal    = "normal"
	classEmergency = "emergency"
)
