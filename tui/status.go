package tui

import (
	"github.com/warroom/warroom/core/deploy"
)

// Status is how a state reads on screen: a symbol and a word, and a tone
// that only adds colour.
type Status struct {
	Symbol string
	Word   string
	Tone   Tone
}

// Text is the symbol and the word: what is shown with or without colour.
func (s Status) Text() string { return s.Symbol + " " + s.Word }

// Render colours the status by its tone.
func (s Status) Render(st *Styles) string { return st.Tone[s.Tone].Render(s.Text()) }

// RunWaiting is the run state of a run that waits on something outside
// itself: gates, an approval quorum, an operator (issue 14). The engine
// names it; the console reads it by its word.
const RunWaiting deploy.RunState = "waiting"

// waitingStatus is how a step that waits reads.
var waitingStatus = Status{"⧗", "waiting", ToneWarn}

// StepStatus is how a step state reads.
func StepStatus(s deploy.StepState) Status {
	switch s {
	case deploy.StepPending:
		return Status{"·", "pending", ToneNeutral}
	case deploy.StepPreflight:
		return Status{"▹", "preflight", ToneActive}
	case deploy.StepDeploying:
		return Status{"▸", "deploying", ToneActive}
	case deploy.StepVerifying:
		return Status{"▸", "verifying", ToneActive}
	case deploy.StepBaking:
		return Status{"◷", "baking", ToneActive}
	case deploy.StepDone:
		return Status{"✓", "done", ToneOK}
	case deploy.StepFailed:
		return Status{"✗", "failed", ToneBad}
	case deploy.StepRollingBack:
		return Status{"↺", "rolling back", ToneWarn}
	case deploy.StepRolledBack:
		return Status{"↺", "rolled back", ToneWarn}
	case deploy.StepSkipped:
		return Status{"»", "skipped", ToneNeutral}
	}
	return Status{"?", string(s), ToneNeutral}
}

// RunStatus is how a run state reads.
func RunStatus(s deploy.RunState) Status {
	switch s {
	case deploy.RunPending:
		return Status{"·", "pending", ToneNeutral}
	case deploy.RunRunning:
		return Status{"▸", "running", ToneActive}
	case deploy.RunPaused:
		return Status{"‖", "paused", ToneWarn}
	case deploy.RunAwaitingApproval:
		return Status{"!", "awaiting approval", ToneWarn}
	case RunWaiting:
		return Status{"⧗", "waiting", ToneWarn}
	case deploy.RunRollingBack:
		return Status{"↺", "rolling back", ToneWarn}
	case deploy.RunSucceeded:
		return Status{"✓", "succeeded", ToneOK}
	case deploy.RunFailed:
		return Status{"✗", "failed", ToneBad}
	case deploy.RunAborted:
		return Status{"✗", "aborted", ToneBad}
	case deploy.RunRolledBack:
		return Status{"↺", "rolled back", ToneWarn}
	}
	return Status{"?", string(s), ToneNeutral}
}
