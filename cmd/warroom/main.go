// Command warroom is the terminal command centre for release day: the
// console, and every action of it as a scriptable command with JSON output.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // regions' time zones must resolve on machines without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one ends warroom at once (plugins
	// die with it: they get SIGKILL when warroom goes).
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Exit codes, as DESIGN.md fixes them.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitRefused = 3
)

// exitError carries an exit code; its message has been printed already
// when silent is set.
type codeError struct {
	code   int
	err    error
	silent bool
}

func (e *codeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *codeError) Unwrap() error { return e.err }

// withCode marks an error with an exit code.
func withCode(code int, err error) error { return &codeError{code: code, err: err} }

// silentExit ends the command with a code, having printed all it has to say.
func silentExit(code int) error { return &codeError{code: code, silent: true} }

// run executes one command line and returns the process's exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root, a := newRoot(stdout, stderr, getenv)
	// No plugin process outlives the command: the plugins are stopped as
	// soon as SIGINT or SIGTERM cancels ctx, when the command ends, and
	// when it panics (before the panic goes on).
	stopOnSignal := context.AfterFunc(ctx, a.closePlugins)
	defer func() {
		stopOnSignal()
		r := recover()
		a.closePlugins()
		if r != nil {
			panic(r)
		}
	}()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if !ce.silent && ce.err != nil {
			fmt.Fprintf(stderr, "warroom: %v\n", ce.err)
		}
		return ce.code
	}
	fmt.Fprintf(stderr, "warroom: %v\n", err)
	if isUsage(err) {
		fmt.Fprintln(stderr, "Run 'warroom --help' for usage.")
		return exitUsage
	}
	return exitError
}
