package tui

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// canaryStep is one canary step of the run and its decoded judgement;
// judged is false while the step carries no judge's verdict yet.
type canaryStep struct {
	step   *deploy.Step
	judged bool
	j      deploy.Judgement
	ev     canary.Evidence
	hasEv  bool
}

// canaryScreen is the run's canary steps, live charts of the latest
// canary's metrics as the judge recorded them, and the selected step's
// judgement: verdict, reason, the sequential tests per metric and the
// sample-ratio check. Only the latest judgement of a step is stored.
type canaryScreen struct {
	c      *Common
	keys   listKeys
	run    *deploy.Run
	steps  []canaryStep
	width  int
	height int
	cursor int
	offset int
	// live is the step the samples are of (see liveCanaryStep); charts
	// are built from them when data arrives, span is the time they cover.
	live    *deploy.Step
	charts  []metricChart
	samples int
	span    time.Duration
	// title, banner, head, rows, charted and panel are rendered when
	// data, size or the cursor change; View only joins them.
	title, banner, head string
	rows                []string
	charted             []string
	panel               []string
	// page shows the selected step's judgement in full (enter).
	page detail
	// moved: the operator chose a step; until then the selection follows
	// the live step (the one charted).
	moved bool
	open  key.Binding
	// bakes and waits are the run's bake extensions and waits, by step
	// Index.
	bakes map[int]BakeExtension
	waits map[int]*Wait
}

var _ Screen = (*canaryScreen)(nil)

func newCanary(c *Common) *canaryScreen {
	return &canaryScreen{c: c, keys: defaultListKeys(), page: newDetail(),
		open: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "whole judgement"))}
}

func (s *canaryScreen) Title() string { return "Canary" }

func (s *canaryScreen) ShortHelp() []key.Binding {
	if s.page.open {
		return s.page.help()
	}
	return []key.Binding{s.open, s.keys.Up, s.keys.Down}
}

func (s *canaryScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{s.open, k.Up, k.Down, k.Top, k.Bottom}, s.page.help()}
}

func (s *canaryScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.page.setSize(width, height)
	s.render()
}

func (s *canaryScreen) SetData(snap *Snapshot) {
	s.run = snap.Run
	s.bakes, s.waits = nil, nil
	if s.run != nil {
		for ref, b := range snap.Bakes {
			if ref.RunID == s.run.ID {
				if s.bakes == nil {
					s.bakes = map[int]BakeExtension{}
				}
				s.bakes[ref.Step] = b
			}
		}
		s.waits = runWaits(snap.Waits, s.run)
	}
	s.live = liveCanaryStep(s.run)
	s.charts, s.samples, s.span = canaryCharts(snap.Samples)
	s.steps = s.steps[:0]
	if s.run != nil {
		for i := range s.run.Steps {
			st := &s.run.Steps[i]
			if st.Kind != deploy.KindService || st.Strategy != model.Canary {
				continue
			}
			if !s.moved && st == s.live {
				s.cursor = len(s.steps)
			}
			s.steps = append(s.steps, decodeCanary(st))
		}
	}
	s.render()
}

// decodeCanary reads a step's evidence as a judgement; anything else (no
// evidence, smoke-check results) is no judgement yet.
func decodeCanary(st *deploy.Step) canaryStep {
	cs := canaryStep{step: st}
	if len(st.Evidence) == 0 || json.Unmarshal(st.Evidence, &cs.j) != nil || cs.j.Verdict == "" {
		return cs
	}
	cs.judged = true
	if len(cs.j.Evidence) > 0 && json.Unmarshal(cs.j.Evidence, &cs.ev) == nil {
		cs.hasEv = true
	}
	return cs
}

func (s *canaryScreen) Update(msg tea.Msg) tea.Cmd {
	if s.page.update(msg) {
		return nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok || len(s.steps) == 0 {
		return nil
	}
	switch {
	case key.Matches(km, s.open):
		cs := s.steps[s.cursor]
		s.page.show(stepTitle(cs.step)+" · judgement", judgementText(cs))
		return nil
	case key.Matches(km, s.keys.Up):
		s.moved = true
		s.cursor--
	case key.Matches(km, s.keys.Down):
		s.moved = true
		s.cursor++
	case key.Matches(km, s.keys.Top):
		s.moved = true
		s.cursor = 0
	case key.Matches(km, s.keys.Bottom):
		s.moved = true
		s.cursor = len(s.steps) - 1
	default:
		return nil
	}
	s.render()
	return nil
}

// VerdictStatus is how a judge's verdict reads.
func VerdictStatus(v deploy.Verdict) Status {
	switch v {
	case deploy.VerdictPromote:
		return Status{"✓", "promote", ToneOK}
	case deploy.VerdictContinue:
		return Status{"·", "continue", ToneActive}
	case deploy.VerdictPause:
		return Status{"‖", "pause", ToneWarn}
	case deploy.VerdictRollback:
		return Status{"↺", "rollback", ToneBad}
	}
	return Status{"?", string(v), ToneNeutral}
}

// listRows is how many step rows fit above the panel.
func (s *canaryScreen) listRows() int {
	used := 2 + len(s.panel) + len(s.charted) // title, head
	if s.height >= 30 {
		used++ // the blank line before the panel
	}
	if s.banner != "" {
		used += strings.Count(s.banner, "\n") + 1
	}
	return max(1, s.height-used)
}

func (s *canaryScreen) render() {
	st := s.c.Styles
	s.rows, s.panel, s.charted, s.banner, s.head = s.rows[:0], s.panel[:0], s.charted[:0], "", ""
	if s.run == nil {
		s.title = st.Muted.Render("No deployment run yet.")
		return
	}
	s.title = st.Title.Render("Canary · run "+s.run.ID) + "  " + RunStatus(s.run.State).Render(st) +
		st.Muted.Render(fmt.Sprintf(" · %d canary steps · latest judgement only", len(s.steps)))
	s.banner = s.judgeBanner()
	if len(s.steps) == 0 {
		s.title += "\n" + st.Muted.Render("This run has no canary steps.")
		return
	}
	s.cursor = min(max(0, s.cursor), len(s.steps)-1)

	whereW, weightW, stateW, verdictW := 16, 7, 14, 18
	svcW := max(8, min(30, s.width-2-whereW-weightW-stateW-verdictW-4))
	s.head = "  " + st.ColumnHead.Render(strings.Join([]string{pad("SERVICE", svcW), pad("WHERE", whereW),
		pad("WEIGHT", weightW), pad("STATE", stateW), pad("VERDICT", verdictW)}, " "))
	for i, cs := range s.steps {
		step := cs.step
		status := StepStatus(step.State)
		verdict := Status{"·", "no judgement yet", ToneNeutral}
		if cs.judged {
			verdict = VerdictStatus(cs.j.Verdict)
		}
		before := pad(step.Service, svcW) + " " + pad(step.Where(), whereW) + " " +
			pad(fmt.Sprintf("%d%%", step.Weight), weightW) + " "
		state, verd := pad(status.Text(), stateW), verdict.Text()
		if i == s.cursor {
			s.rows = append(s.rows, "› "+st.Selected.Render(before+state+" "+verd))
		} else {
			s.rows = append(s.rows, "  "+before+st.Tone[status.Tone].Render(state)+" "+st.Tone[verdict.Tone].Render(verd))
		}
	}
	s.panel = s.detail(s.steps[s.cursor])
	for i := range s.panel {
		s.panel[i] = cut(s.panel[i], s.width)
	}
	// The judgement comes before the charts: a short terminal keeps a
	// few step rows and as much of the panel as fits (enter shows it
	// all), and shows the charts only in the room left.
	budget := s.height - 2 - min(len(s.rows), 3)
	if s.banner != "" {
		budget -= strings.Count(s.banner, "\n") + 1
	}
	if s.height >= 30 {
		budget-- // the blank line before the panel
	}
	if len(s.panel) > budget {
		s.panel = slices.DeleteFunc(s.panel, func(l string) bool { return l == "" })
	}
	if len(s.panel) > budget && budget >= 2 {
		s.panel = append(s.panel[:budget-1], st.Muted.Render("… enter shows the whole judgement"))
	}
	s.charted = nil
	if budget-len(s.panel) >= 3 {
		s.charted = s.liveCharts()
	}
	s.offset = scrollTo(s.offset, s.cursor, s.listRows(), len(s.rows))
}

// judgeBanner says when the run is paused or rolled back because of the
// canary judge, with the judge's reason.
func (s *canaryScreen) judgeBanner() string {
	st := s.c.Styles
	var want deploy.Verdict
	var what string
	switch s.run.State {
	case deploy.RunRollingBack:
		want, what = deploy.VerdictRollback, "↺ automatic rollback in progress"
	case deploy.RunRolledBack:
		want, what = deploy.VerdictRollback, "↺ rolled back automatically"
	case deploy.RunPaused:
		want, what = deploy.VerdictPause, "‖ paused"
	default:
		return ""
	}
	for _, cs := range s.steps {
		if !cs.judged || cs.j.Verdict != want {
			continue
		}
		if want == deploy.VerdictPause && !strings.Contains(s.run.Reason, "paused by the judge") {
			continue
		}
		tone := ToneBad
		if want == deploy.VerdictPause {
			tone = ToneWarn
		}
		head := st.Tone[tone].Render(fmt.Sprintf("%s by the canary judge: step %d, %s in %s",
			what, cs.step.Index, cs.step.Service, cs.step.Where()))
		lines := []string{cut(head, s.width)}
		for _, l := range strings.Split(ansi.Wrap(cs.j.Reason, max(10, s.width-4), " "), "\n") {
			lines = append(lines, "  "+l)
		}
		return strings.Join(lines, "\n")
	}
	return ""
}

// detail is the selected step's judgement, most important first (the
// body cuts from the bottom): the verdict, what was proved or how much
// evidence is missing and what the bake does about it, the rollback tests
// and the promotion proofs with their evidence against their thresholds,
// then when it was judged and the traffic split.
func (s *canaryScreen) detail(cs canaryStep) []string {
	st := s.c.Styles
	step := cs.step
	label := func(x string) string { return st.Label.Render(pad(x, 10)) }
	out := []string{st.Title.Render(fmt.Sprintf("Step %d · %s", step.Index, step.Describe())) +
		st.Muted.Render(fmt.Sprintf(" · %d%% on canary", step.Weight))}
	if !cs.judged {
		line := label("Verdict") + st.Muted.Render("· no judgement yet")
		if step.State == deploy.StepPending {
			line += st.Muted.Render(" — the canary has not started")
		} else {
			line += st.Muted.Render(" — the judge has not ruled on this step")
		}
		return append(out, line)
	}
	// A promotion's reason restates the bound, an inconclusive one the
	// shortfall: both have their own lines.
	vlines := 2
	if provedLine(cs.ev) != "" || cs.ev.Insufficient != nil {
		vlines = 1
	}
	out = append(out, labelled(label("Verdict"), 10, VerdictStatus(cs.j.Verdict).Render(st)+" — "+cs.j.Reason, s.width, vlines)...)
	if !cs.hasEv {
		return append(out, st.Muted.Render("no evidence recorded with the verdict"))
	}
	ev := cs.ev
	if p := provedLine(ev); p != "" {
		out = append(out, labelled(label("Proved"), 10, st.Tone[ToneOK].Render("✓ "+p), s.width, 2)...)
	}
	if sf := ev.Insufficient; sf != nil {
		out = append(out, labelled(label("Evidence"), 10, st.Tone[ToneWarn].Render("‖ "+insufficientText(sf)), s.width, 2)...)
	}
	if b := s.bakeLine(cs); b != "" {
		out = append(out, labelled(label("Bake"), 10, b, s.width, 2)...)
	}
	wide := s.width >= 100
	roomy := s.height >= 30
	if roomy {
		out = append(out, "")
	}
	out = append(out, s.testRows(ev, wide)...)
	out = append(out, s.proofRows(ev, wide)...)
	if roomy {
		out = append(out, "")
	}
	judged := label("Judged") + ev.At.UTC().Format("15:04:05 UTC") +
		fmt.Sprintf(" · %s after canary start · α %g", dur(ev.ElapsedS), ev.Alpha)
	if ev.DecidedAfter > 0 {
		judged += " · decided after " + dur(ev.DecidedAfter)
	}
	if ev.Against != "" && ev.Against != "baseline" {
		judged += " · against the " + ev.Against
	}
	out = append(out, judged)
	return append(out, s.srmLine(ev.SRM))
}

// provedLine is the bound a promotion proved: "error rate <= base + 0.5
// pp and p95 latency <= 36ms with 99% confidence after 2310 requests";
// empty unless every proof holds.
func provedLine(ev canary.Evidence) string {
	if !ev.Proved || len(ev.Proofs) == 0 {
		return ""
	}
	var claims []string
	conf, n := 0.0, int64(0)
	for _, p := range ev.Proofs {
		claims = append(claims, p.Claim)
		conf = max(conf, p.Confidence)
		n = max(n, p.Canary.Requests)
	}
	return fmt.Sprintf("%s with %s confidence after %d requests", strings.Join(claims, " and "), pctConf(conf), n)
}

// insufficientText is "insufficient evidence: 412 requests, about 1900
// more needed at the current traffic (6m20s at 5.0 rps)".
func insufficientText(sf *canary.Shortfall) string {
	t := fmt.Sprintf("insufficient evidence: %d requests, ", sf.Requests)
	if sf.MoreRequests < 0 {
		return t + "more than the current rates can prove"
	}
	t += fmt.Sprintf("about %d more needed at the current traffic", sf.MoreRequests)
	if sf.MoreS > 0 {
		t += fmt.Sprintf(" (%s at %.1f rps)", dur(sf.MoreS), sf.CanaryRPS)
	}
	return t
}

// bakeLine says how far the bake was extended and whether the step now
// waits for an operator; empty when neither applies.
func (s *canaryScreen) bakeLine(cs canaryStep) string {
	st := s.c.Styles
	ext, hasExt := s.bakes[cs.step.Index]
	wait := s.waits[cs.step.Index]
	out := ""
	if hasExt && ext.Factor > 1 {
		out = fmt.Sprintf("extended %s/%s×", fmtFactor(ext.Factor), fmtFactor(ext.Max))
		if !ext.Until.IsZero() {
			out += " until " + ext.Until.UTC().Format("15:04 UTC")
		}
	}
	operator := wait != nil && wait.Operator != ""
	if !operator && cs.ev.Insufficient != nil && hasExt && ext.Max > 0 && ext.Factor >= ext.Max {
		operator = true // extended as far as the policy allows
	}
	switch {
	case operator:
		w := "‖ waits for an operator: c continues (promote), r rolls back (on Waves)"
		if out != "" {
			return out + " · " + st.Tone[ToneWarn].Render(w)
		}
		return st.Tone[ToneWarn].Render(w)
	case out != "" && !cs.step.State.Terminal():
		return out + st.Muted.Render(" · judging goes on")
	}
	return out
}

func fmtFactor(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func pctConf(c float64) string { return strconv.FormatFloat(100*c, 'f', -1, 64) + "%" }

// testRows are the rollback tests: name, the cohorts observed, the
// evidence against its threshold, the decision.
func (s *canaryScreen) testRows(ev canary.Evidence, wide bool) []string {
	st := s.c.Styles
	nameW, cohW, eW := 14, 16, 13
	if wide {
		nameW, cohW = 16, 22
	}
	if s.width >= 120 {
		eW = 20 // the bar too
	}
	head := []string{pad("ROLLBACK TEST", nameW), pad("BASELINE", cohW), pad("CANARY", cohW), pad("E / THRESHOLD", eW)}
	if wide {
		head = append(head, pad("RATIO", 6))
	}
	out := []string{"  " + st.ColumnHead.Render(strings.Join(append(head, "DECISION"), " "))}
	for _, m := range ev.Metrics {
		base := cohortShort(m.Baseline)
		if m.Baseline.Requests == 0 && m.ReferenceRate > 0 {
			base = "ref " + share(m.ReferenceRate)
		}
		row := []string{pad(testName(m.Name, m.Against), nameW), pad(base, cohW), pad(cohortShort(m.Canary), cohW),
			s.evalueText(m.EValue, m.Threshold, m.Rejected, eW)}
		if wide {
			ratio := "—"
			if m.RateRatio != nil {
				ratio = fmt.Sprintf("%.2f×", *m.RateRatio)
			}
			row = append(row, pad(ratio, 6))
		}
		out = append(out, "  "+strings.Join(append(row, s.decision(m.Rejected, m.RejectedAfterS, ev.ElapsedS, wide)), " "))
	}
	return out
}

// proofRows are the promotion proofs: what each claims, the evidence
// against its threshold, proved or how much more traffic it needs.
func (s *canaryScreen) proofRows(ev canary.Evidence, wide bool) []string {
	if len(ev.Proofs) == 0 {
		return nil
	}
	st := s.c.Styles
	nameW, claimW, eW := 14, 28, 13
	if wide {
		nameW, claimW = 16, 45
	}
	out := []string{"  " + st.ColumnHead.Render(strings.Join([]string{pad("PROOF", nameW), pad("CLAIM", claimW),
		pad("E / THRESHOLD", eW), "RESULT"}, " "))}
	for _, p := range ev.Proofs {
		claim := p.Claim
		if claim == "" {
			claim = "—"
		}
		if i := strings.Index(claim, " ("); i > 0 && !wide {
			claim = claim[:i] // "p95 latency <= 36ms": the base is in the page
		}
		var res string
		switch {
		case p.Proved && wide:
			res = st.Tone[ToneOK].Render(fmt.Sprintf("✓ proved after %s (%s)", dur(p.ProvedAfterS), pctConf(p.Confidence)))
		case p.Proved:
			res = st.Tone[ToneOK].Render("✓ proved " + dur(p.ProvedAfterS))
		case p.MoreRequests > 0 && !wide:
			res = st.Tone[ToneWarn].Render(fmt.Sprintf("· ~%d more req", p.MoreRequests))
		case p.MoreRequests < 0 && !wide:
			res = st.Tone[ToneWarn].Render("· not provable now")
		case p.MoreRequests > 0:
			res = st.Tone[ToneWarn].Render(fmt.Sprintf("· about %d more requests", p.MoreRequests))
		case p.MoreRequests < 0:
			res = st.Tone[ToneWarn].Render("· not provable at current rates")
		default:
			res = st.Muted.Render("· not proved yet")
		}
		e := pad(enum(p.EValue)+" / "+enum(p.Threshold), eW)
		out = append(out, "  "+strings.Join([]string{pad(proofName(p.Name), nameW), pad(claim, claimW), e, res}, " "))
	}
	return out
}

func (s *canaryScreen) srmLine(srm canary.SRMEvid) string {
	st := s.c.Styles
	line := st.Label.Render("SRM") + "  " + fmt.Sprintf("nominal %d%% · observed %s (%d/%d) · e %s/%s · ",
		srm.NominalWeight, share(srm.ObservedShare), srm.CanaryRequests, srm.TotalRequests, enum(srm.EValue), enum(srm.Threshold))
	if srm.TotalRequests == 0 && (srm.NominalWeight == 0 || srm.NominalWeight == 100) {
		// All traffic on one side: no split to test at this weight; the
		// e-value is what the earlier weights left.
		line = st.Label.Render("SRM") + "  " + fmt.Sprintf("nominal %d%% · no split to test · e %s/%s from earlier weights · ",
			srm.NominalWeight, enum(srm.EValue), enum(srm.Threshold))
	}
	if srm.Rejected {
		return line + st.Tone[ToneWarn].Render("‖ mismatch after "+dur(srm.RejectedAfterS))
	}
	return line + st.Tone[ToneOK].Render("✓ split as asked")
}

// evalueText is the evidence against its threshold, "34 / 20", coloured
// by how close it is to rejection; wide screens draw the bar too.
func (s *canaryScreen) evalueText(e, thr float64, rejected bool, w int) string {
	if s.width >= 120 {
		return s.evalue(e, thr, rejected, 8)
	}
	return pad(enum(e)+" / "+enum(thr), w)
}

// testName is a rollback test's name as read: the metric and what the
// canary is compared with.
func testName(name, against string) string {
	switch name {
	case "error_slo":
		return "error vs SLO"
	case "latency_slo":
		return "latency vs SLO"
	}
	n := metricName(name)
	if against == "pre-deployment baseline" {
		n += " vs pre"
	}
	return n
}

func proofName(n string) string {
	switch n {
	case "latency_p95":
		return "p95 latency"
	}
	return metricName(n)
}

// evalue is "████░░░░ 3.2 / 20": the bar fills on a log scale from 1 (no
// evidence) to the threshold (rejection).
func (s *canaryScreen) evalue(e, thr float64, rejected bool, w int) string {
	st := s.c.Styles
	frac := 0.0
	if e > 1 && thr > 1 {
		frac = math.Min(1, math.Log(e)/math.Log(thr))
	}
	n := int(math.Round(frac * float64(w)))
	tone := ToneOK
	switch {
	case rejected:
		tone = ToneBad
	case frac >= 0.5:
		tone = ToneWarn
	}
	bar := st.Tone[tone].Render(strings.Repeat("█", n)) + st.Muted.Render(strings.Repeat("░", w-n))
	return bar + " " + pad(enum(e)+" / "+enum(thr), 11)
}

func (s *canaryScreen) decision(rejected bool, after, elapsed float64, wide bool) string {
	st := s.c.Styles
	switch {
	case rejected && wide:
		return st.Tone[ToneBad].Render("✗ rejected after " + dur(after))
	case rejected: // when: on the Judged line, "decided after"
		return st.Tone[ToneBad].Render("✗ rejected")
	case wide:
		return st.Tone[ToneOK].Render("✓ not rejected") + st.Muted.Render(" in "+dur(elapsed))
	}
	return st.Tone[ToneOK].Render("✓ not rejected")
}

func metricName(n string) string {
	switch n {
	case "error_rate":
		return "error rate"
	case "slow_rate":
		return "slow rate"
	case "latency_shift":
		return "latency shift"
	}
	return n
}

// cohortShort is "41/6830 0.60%": events over requests, and the rate.
func cohortShort(c canary.CohortEvid) string {
	if c.Requests == 0 {
		return "no requests"
	}
	return fmt.Sprintf("%d/%d %s", c.Events, c.Requests, share(c.Rate))
}

// share is a proportion as a percentage with sensible precision.
func share(x float64) string {
	switch {
	case x == 0:
		return "0%"
	case x < 0.001:
		return fmt.Sprintf("%.3f%%", 100*x)
	case x < 0.1:
		return fmt.Sprintf("%.2f%%", 100*x)
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

// enum is an e-value: small ones with two digits, big ones compact.
func enum(x float64) string {
	switch {
	case x >= 1e4:
		return fmt.Sprintf("%.2g", x)
	case x >= 10:
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2g", x)
}

// dur is seconds as a short duration: "6m40s".
func dur(sec float64) string {
	return (time.Duration(math.Round(sec)) * time.Second).String()
}

// judgementText is a canary step's judgement in full: the reason, then
// the evidence as recorded.
func judgementText(cs canaryStep) string {
	if !cs.judged {
		return "No judgement yet: the judge rules once the canary takes traffic."
	}
	text := "Verdict  " + VerdictStatus(cs.j.Verdict).Text() + "\nReason   " + cs.j.Reason
	if cs.hasEv {
		ev := cs.ev
		if p := provedLine(ev); p != "" {
			text += "\nProved   " + p
		}
		if ev.Insufficient != nil {
			text += "\n         " + insufficientText(ev.Insufficient)
		}
		text += "\n\nRollback tests (any one rejecting rolls the canary back):"
		for _, m := range ev.Metrics {
			text += fmt.Sprintf("\n  %s — %s\n    canary %s", testName(m.Name, m.Against), m.Test, cohortShort(m.Canary))
			if m.Baseline.Requests > 0 {
				text += " · baseline " + cohortShort(m.Baseline)
			}
			if m.ReferenceRate > 0 {
				text += " · reference " + share(m.ReferenceRate)
			}
			verdict := "not rejected"
			if m.Rejected {
				verdict = "rejected after " + dur(m.RejectedAfterS)
			}
			text += fmt.Sprintf(" · e %s against %s: %s", enum(m.EValue), enum(m.Threshold), verdict)
		}
		if len(ev.Proofs) > 0 {
			text += "\n\nPromotion proofs (all must hold):"
		}
		for _, p := range ev.Proofs {
			res := "not proved yet"
			switch {
			case p.Proved:
				res = fmt.Sprintf("proved after %s", dur(p.ProvedAfterS))
			case p.MoreRequests > 0:
				res = fmt.Sprintf("about %d more requests needed", p.MoreRequests)
			case p.MoreRequests < 0:
				res = "not provable at the current rates"
			}
			text += fmt.Sprintf("\n  %s: %s with %s confidence — %s\n    canary %s · e %s against %s: %s",
				proofName(p.Name), p.Claim, pctConf(p.Confidence), p.Test, cohortShort(p.Canary), enum(p.EValue), enum(p.Threshold), res)
		}
		text += "\n"
	}
	if len(cs.j.Evidence) > 0 {
		var v any
		if json.Unmarshal(cs.j.Evidence, &v) == nil {
			if b, err := json.MarshalIndent(v, "", "  "); err == nil {
				text += "\nEvidence\n" + string(b)
			}
		}
	}
	return text
}

func (s *canaryScreen) View() string {
	if s.page.open {
		return s.page.view(s.c.Styles)
	}
	var b strings.Builder
	b.WriteString(s.title)
	if s.banner != "" {
		b.WriteByte('\n')
		b.WriteString(s.banner)
	}
	if len(s.rows) == 0 {
		return b.String()
	}
	b.WriteByte('\n')
	b.WriteString(s.head)
	end := min(len(s.rows), s.offset+s.listRows())
	for i := s.offset; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(s.rows[i])
	}
	for _, l := range s.charted {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	if s.height >= 30 {
		b.WriteByte('\n')
	}
	for _, l := range s.panel {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return b.String()
}

// liveCanaryStep is the canary step the run's samples are of: the latest
// canary step that has started, or nil. The store source loads the
// samples of this step.
func liveCanaryStep(r *deploy.Run) *deploy.Step {
	if r == nil {
		return nil
	}
	for i := len(r.Steps) - 1; i >= 0; i-- {
		st := &r.Steps[i]
		if st.Kind == deploy.KindService && st.Strategy == model.Canary && st.State != deploy.StepPending {
			return st
		}
	}
	return nil
}

// canaryCharts turns samples (oldest first) into the three charts, one
// value per instant and cohort; a cohort without a sample at an instant,
// or without a p99, has an unknown value there. It also returns how many
// instants there are and the time they span.
func canaryCharts(samples []CanarySample) ([]metricChart, int, time.Duration) {
	var at []time.Time
	idx := make([]int, len(samples))
	for i, sm := range samples {
		if n := len(at); n == 0 || !sm.At.Equal(at[n-1]) {
			at = append(at, sm.At)
		}
		idx[i] = len(at) - 1
	}
	unknown := func() []float64 {
		v := make([]float64, len(at))
		for i := range v {
			v[i] = math.NaN()
		}
		return v
	}
	// [metric][cohort]: error rate, p99, throughput; baseline, canary
	var vals [3][2][]float64
	for m := range vals {
		for c := range vals[m] {
			vals[m][c] = unknown()
		}
	}
	for i, sm := range samples {
		c := 0
		switch sm.Cohort {
		case canary.CohortBaseline:
		case canary.CohortCanary:
			c = 1
		default:
			continue
		}
		vals[0][c][idx[i]] = sm.ErrorRate
		if sm.P99Ms > 0 {
			vals[1][c][idx[i]] = sm.P99Ms
		}
		vals[2][c][idx[i]] = sm.RPS
	}
	series := func(m int) []chartSeries {
		return []chartSeries{{canary.CohortBaseline, vals[m][0]}, {canary.CohortCanary, vals[m][1]}}
	}
	charts := []metricChart{
		{Title: "error rate", Format: fmtRate, Series: series(0)},
		{Title: "p99 latency", Format: fmtMs, Series: series(1)},
		{Title: "throughput", Format: fmtRPS, Series: series(2)},
	}
	var span time.Duration
	if len(at) > 1 {
		span = at[len(at)-1].Sub(at[0])
	}
	return charts, len(at), span
}

// liveCharts is the charts block under the step list: a blank line, a
// title saying which step they are of, then the charts stacked when the
// body has room for them, as a compact grid when it does not.
func (s *canaryScreen) liveCharts() []string {
	st := s.c.Styles
	// Most important first, the title may be cut at narrow widths.
	head, what := "Live metrics", ""
	if s.live != nil {
		head = fmt.Sprintf("Live metrics of step %d", s.live.Index)
		what = fmt.Sprintf(" · %s in %s", s.live.Service, s.live.Where())
	}
	if s.samples == 0 {
		return []string{"", cut(st.Title.Render(head)+st.Muted.Render(" · no samples yet"+what), s.width)}
	}
	title := st.Title.Render(head) + st.Muted.Render(fmt.Sprintf(" · %d samples over %s", s.samples, dur(s.span.Seconds()))+what)
	out := []string{"", cut(title, s.width)}
	spare := func() int {
		used := 2 + len(s.panel) + 1 + len(s.rows)
		if s.banner != "" {
			used += strings.Count(s.banner, "\n") + 1
		}
		return s.height - used
	}
	if spare() >= len(out)+len(stacked(s.charts, s.width)) {
		return append(out, stacked(s.charts, s.width)...)
	}
	g := grid(s.charts, s.width)
	if spare() < len(out)+len(g) {
		// Short of room: blank lines go first, the panel's and the one
		// above the charts.
		s.panel = slices.DeleteFunc(s.panel, func(l string) bool { return l == "" })
		if spare() < len(out)+len(g) {
			out = out[1:]
		}
		if spare() < len(out)+len(g) && s.live != nil {
			// Still short (a banner): the step's number goes in the
			// grid's corner instead of a title line.
			nameW := nameWidth(s.charts)
			out = nil
			g[0] = st.Title.Render(pad(fmt.Sprintf("step %d", s.live.Index), nameW)) + g[0][nameW:]
		}
	}
	return append(out, g...)
}
