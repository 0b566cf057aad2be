// Package host launches, verifies and supervises warroom's provider
// plugins: subprocesses speaking gRPC through hashicorp/go-plugin, whose
// contract is plugins/sdk.
//
// # Configuration
//
// Plugins are declared in a YAML file (LoadConfig; warroom's --plugins):
//
//	plugins:
//	  - name: exec                  # how warroom calls it; letters, digits, . _ -
//	    path: bin/plugins/exec      # relative to this file's directory
//	    kinds: [deploy-target]      # deploy-target, monitoring-source, ticketing
//	    settings:                   # handed to the plugin's Configure
//	      deploy: ./scripts/deploy.sh
//	    timeout: 10s                # every unary call (default 10s)
//	    stream_idle_timeout: 2m     # Deploy, Rollback, Watch without an event (default 2m)
//	    start_timeout: 10s          # the start-up handshake (default 10s)
//
//	disable: [tickets-local]        # built-ins to drop
//	canary_judge: scrape            # monitoring source judging canaries, or none
//
// Unknown keys, unknown kinds, duplicate names and a missing path are
// errors, reported with file:line:col. DefaultConfig lists the built-in
// plugins that `make build` put in bin/plugins; LoadConfig combines a file
// with them: an entry named like a built-in overrides it field by field
// (settings merged key by key), another adds a plugin, and a built-in is
// dropped only by disable.
//
// # Fault history
//
// Options.Faults, when set, is told each fault once (FaultRecord), so that
// other processes can show it: warroom keeps it in the store.
//
// # Trust
//
// Before every start the binary's SHA-256 is computed and must be trusted:
// recorded for the plugin's name by an operator (`warroom plugins trust
// NAME`, kept in the database: TrustStore), or listed for the binary's
// name in the SHA256SUMS file of its directory, which `make build` writes
// for the binaries it just built. Anything else is refused with a
// *TrustError saying whether the binary is unknown or changed since it was
// trusted, and how to trust it. The checksum then goes to go-plugin's
// SecureConfig, which hashes the binary again right before executing it.
//
// # Hardening
//
// Plugins run with AutoMTLS, gRPC only, without warroom's environment
// (Options.Env is all they get), in their own process group, and with
// Pdeathsig so that they die with warroom even if warroom is killed. Their
// logs go to Options.LogWriter, never to warroom's stdout or stderr.
//
// The clients a Host hands out (DeployTarget, MonitoringSource,
// Ticketing) start the plugin on first use, put a deadline on every unary
// call and an idle deadline on every stream, check every answer, and turn
// every failure of the plugin's doing into a *CallError naming the plugin,
// the call and the Fault: crashed, timeout, malformed, refused, handshake
// or untrusted. After a crash, a timeout or a malformed answer the process
// is killed, the plugin marked unhealthy, and the next call starts it
// again. The caller's own cancellation is not a fault.
//
// Launch starts any binary with the same hardening, unsupervised: it is
// what `warroom plugins check` and the conformance suite use.
package host
