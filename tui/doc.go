// Package tui is warroom's console: the terminal war room a release
// captain drives on release day.
//
// A root Model owns the layout (header with release, run state and clocks;
// a tab bar naming the nine screens; the active screen; a status line; and
// short or full help) and routes every key it does not handle itself to the
// active screen. Each screen is its own component with its own keymap.
//
// Data never comes from View(): a loader tea.Cmd reads a Snapshot from a
// Source, and a one-second tick asks the Source whether anything changed
// (another process's CLI command, a second console) and reloads if so.
// Loads carry a generation so a slow, stale load never overwrites a newer one.
//
// All per-console state lives in the model and every style comes from a
// lipgloss.Renderer handed in, so one process can serve many consoles (one
// renderer per SSH session) and NO_COLOR is honoured by the renderer's
// colour profile. Every status is shown by a symbol and a word, never by
// colour alone.
//
// Governance: the header names the person at the keyboard and says OPEN
// MODE in words when no people are declared (Snapshot.Identity). Gates is
// a service × gate matrix of the focus release's results
// (Snapshot.GateResults); its w and a keys waive and approve the selected
// cell with a typed reason through a GateActor, whose refusal is shown as
// it is. Waves shows the planned waves before a run (Snapshot.Plans) and
// what a waiting step waits on (Snapshot.Waits); Canary the judge's tests,
// proofs and shortfall, and a bake's extension (Snapshot.Bakes). A source
// that leaves these zero gets the console as it was before them.
package tui
