// Command badhandshake is a misbehaving plugin for warroom's tests: it
// does not use the SDK and answers go-plugin's handshake with a line that
// names an application protocol version warroom does not speak (99), then
// waits to be killed. The host must refuse it as a handshake fault without
// waiting for a start-up timeout, and must not leave it running.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// core protocol | app protocol | network | address | protocol
	fmt.Println("1|99|tcp|127.0.0.1:1|grpc")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
