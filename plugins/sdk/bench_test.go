package sdk

import (
	"context"
	"testing"
)

// BenchmarkDescribeRoundTrip is one unary call through the SDK: host
// client, gRPC over a local socket, plugin server and back.
func BenchmarkDescribeRoundTrip(b *testing.B) {
	c, _ := setup(b)
	ctx := context.Background()
	target := c.DeployTarget()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := target.Describe(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// countingWriter is the cheapest host SampleWriter: it only counts.
type countingWriter struct {
	series  SeriesID
	samples int
	sum     float64
}

func (w *countingWriter) Series(string, map[string]string) SeriesID {
	w.series++
	return w.series
}

func (w *countingWriter) Write(_ SeriesID, _ int64, v float64) error {
	w.samples++
	w.sum += v
	return nil
}

func (w *countingWriter) Flush() error { return nil }

// BenchmarkWatchSamples streams b.N samples of 16 series from a plugin's
// Watch to a host's writer, end to end; ns/op is per sample.
func BenchmarkWatchSamples(b *testing.B) {
	const series = 16
	n := b.N
	c := watchPlugin(b, func(ctx context.Context, _ WatchRequest, w SampleWriter) error {
		var ids [series]SeriesID
		for i := range ids {
			ids[i] = w.Series("requests", map[string]string{"instance": string(rune('a' + i))})
		}
		for i := range n {
			if err := w.Write(ids[i%series], int64(i), float64(i)); err != nil {
				return err
			}
		}
		return nil
	})
	var w countingWriter
	b.ReportAllocs()
	b.ResetTimer()
	if err := c.MonitoringSource().Watch(context.Background(), WatchRequest{}, &w); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if w.samples != n {
		b.Fatalf("%d samples arrived, want %d", w.samples, n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}
