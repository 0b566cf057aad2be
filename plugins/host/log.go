package host

import (
	"io"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// newLogger is the logger of a Host or a Launch: hclog text into w, or
// nothing when w is nil. Plugins' own logs (hclog JSON on their stderr)
// are re-logged through it by go-plugin, so one file holds everything.
func newLogger(w io.Writer) hclog.Logger {
	if w == nil {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:   "plugin",
		Output: w,
		// One lock for every sub-logger, so lines of several plugins
		// never interleave in the file.
		Mutex: &sync.Mutex{},
		Level: hclog.Debug,
		Color: hclog.ColorOff,
	})
}
