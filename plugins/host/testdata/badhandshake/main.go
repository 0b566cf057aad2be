// Command badhandshake is not a warroom plugin, for the host's tests: it
// writes a handshake line that warroom must refuse, chosen by the
// BAD_HANDSHAKE environment variable, and then waits to be killed.
//
//	version   (default) plugin protocol version 99
//	netrpc    the net/rpc protocol instead of gRPC
//	garbage   a line that is no handshake at all
//	silent    nothing (warroom's start timeout must fire)
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	switch os.Getenv("BAD_HANDSHAKE") {
	case "netrpc":
		fmt.Println("1|1|tcp|127.0.0.1:1|netrpc")
	case "garbage":
		fmt.Println("hello, I am definitely a plugin")
	case "silent":
	default:
		fmt.Println("1|99|tcp|127.0.0.1:1|grpc")
	}
	// Sleeping, not select{}: a program with nothing else to do would be
	// stopped by the runtime's deadlock detector instead of waiting.
	for {
		time.Sleep(time.Hour)
	}
}
