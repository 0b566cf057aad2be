// Package bench holds warroom's plugin benchmarks (its _test.go files
// only): the cost of warroom's plugin host beside a bare go-plugin gRPC
// plugin, measured in the same run.
//
//   - BenchmarkUnary: the round trip of a trivial unary call, through
//     warroom's host (host.Launch, then DeployTarget().Describe of
//     testdata/plugins/fast, which answers a constant) and through a raw
//     go-plugin client of testdata/plugins/echo (Provider.Info, no SDK).
//     It reports ns/op and the median in µs.
//   - BenchmarkUnaryOverhead: both calls interleaved in one loop, so that
//     the machine's state is the same for both; it reports both medians
//     and the host's overhead in percent (target: at most 30).
//   - BenchmarkWatch: samples per second through MonitoringSource.Watch,
//     via the host into a sdk.SampleWriter, beside the echo plugin's raw
//     stream of 100-sample messages (target: at least 2 million/s).
//
// Run them with
//
//	go test -run '^$' -bench . -benchtime 2s ./plugins/bench
//
// The bare baseline uses go-plugin's defaults (no TLS) and, as "mtls",
// the AutoMTLS that warroom's host always uses.
package bench
