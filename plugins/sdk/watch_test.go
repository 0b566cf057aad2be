package sdk

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// collector is a host's SampleWriter: it numbers series from 100 so the
// test sees the SDK translate ids, and keeps what it gets.
type collector struct {
	mu      sync.Mutex
	defs    []*SeriesDef
	samples []Sample
	flushes int
	wrote   chan struct{}     // when set, gets a token per Write if there is room
	onWrite func(n int) error // when set, called with the count after each Write
}

const firstCallerID = 100

func (c *collector) Series(metric string, labels map[string]string) SeriesID {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := &SeriesDef{ID: SeriesID(firstCallerID + len(c.defs)), Metric: metric, Labels: labels}
	c.defs = append(c.defs, d)
	return d.ID
}

func (c *collector) Write(id SeriesID, t int64, v float64) error {
	c.mu.Lock()
	i := int(id) - firstCallerID
	if i < 0 || i >= len(c.defs) {
		c.mu.Unlock()
		return fmt.Errorf("collector: unknown series %d", id)
	}
	c.samples = append(c.samples, Sample{Series: c.defs[i], T: t, V: v})
	n := len(c.samples)
	c.mu.Unlock()
	if c.wrote != nil {
		select {
		case c.wrote <- struct{}{}:
		default:
		}
	}
	if c.onWrite != nil {
		return c.onWrite(n)
	}
	return nil
}

func (c *collector) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushes++
	return nil
}

// TestSampleWriter steps a writer with a small batch and no timer through
// its life and checks each batch it sends.
func TestSampleWriter(t *testing.T) {
	type step struct {
		do      func(w *sampleWriter) error
		wantErr string // fragment; "": no error
		sent    int    // batches sent so far
	}
	labels := map[string]string{"service": "api"}
	sendErr := errors.New("stream broken")
	tests := []struct {
		name  string
		send  func(n int) error // error for the nth send (1-based)
		steps []step
		want  []*pb.SampleBatch
	}{
		{
			name: "full batches and flush",
			steps: []step{
				{do: func(w *sampleWriter) error { w.Series("requests", labels); w.Series("errors", nil); return nil }},
				{do: writeN(1, 3), sent: 0},
				{do: writeN(2, 1), sent: 1},          // the 4th sample fills the batch
				{do: writeN(1, 1), sent: 1},          // batched
				{do: (*sampleWriter).Flush, sent: 2}, // sent on Flush
				{do: (*sampleWriter).Flush, sent: 2}, // nothing to send
				{do: func(w *sampleWriter) error { labels["service"] = "mutated"; return nil }, sent: 2},
				{do: func(w *sampleWriter) error { w.Series("latency", nil); return nil }, sent: 2},
				{do: (*sampleWriter).Flush, sent: 3}, // a declaration alone goes out too
				{do: writeN(3, 2), sent: 3},
				{do: (*sampleWriter).close, sent: 4}, // Watch returned: what is batched goes
				{do: writeN(1, 1), wantErr: "after Watch returned", sent: 4},
				{do: (*sampleWriter).Flush, wantErr: "after Watch returned", sent: 4},
			},
			want: []*pb.SampleBatch{
				{
					Series: []*pb.SeriesDef{
						{Id: 1, Metric: "requests", Labels: map[string]string{"service": "api"}},
						{Id: 2, Metric: "errors"},
					},
					Samples: []*pb.Sample{{Series: 1, TMs: 0, Value: 0}, {Series: 1, TMs: 1, Value: 0.5}, {Series: 1, TMs: 2, Value: 1}, {Series: 2, TMs: 0, Value: 0}},
				},
				{Samples: []*pb.Sample{{Series: 1, TMs: 0, Value: 0}}},
				{Series: []*pb.SeriesDef{{Id: 3, Metric: "latency"}}},
				{Samples: []*pb.Sample{{Series: 3, TMs: 0, Value: 0}, {Series: 3, TMs: 1, Value: 0.5}}},
			},
		},
		{
			name: "undeclared series",
			steps: []step{
				{do: writeN(1, 1), wantErr: "never declared"},
				{do: func(w *sampleWriter) error { w.Series("requests", nil); return nil }},
				{do: writeN(0, 1), wantErr: "never declared"},
				{do: writeN(2, 1), wantErr: "never declared"},
				{do: writeN(1, 1), sent: 0},
				{do: (*sampleWriter).close, sent: 1},
			},
			want: []*pb.SampleBatch{
				{Series: []*pb.SeriesDef{{Id: 1, Metric: "requests"}}, Samples: []*pb.Sample{{Series: 1}}},
			},
		},
		{
			name: "send error sticks",
			send: func(n int) error {
				if n == 2 {
					return sendErr
				}
				return nil
			},
			steps: []step{
				{do: func(w *sampleWriter) error { w.Series("requests", nil); return nil }},
				{do: writeN(1, 4), sent: 1},
				{do: writeN(1, 4), wantErr: "stream broken", sent: 2},
				{do: writeN(1, 1), wantErr: "stream broken", sent: 2},
				{do: (*sampleWriter).Flush, wantErr: "stream broken", sent: 2},
				{do: (*sampleWriter).close, sent: 2},
			},
			want: []*pb.SampleBatch{
				{Series: []*pb.SeriesDef{{Id: 1, Metric: "requests"}}, Samples: []*pb.Sample{{Series: 1}, {Series: 1, TMs: 1, Value: 0.5}, {Series: 1, TMs: 2, Value: 1}, {Series: 1, TMs: 3, Value: 1.5}}},
				{Samples: []*pb.Sample{{Series: 1}, {Series: 1, TMs: 1, Value: 0.5}, {Series: 1, TMs: 2, Value: 1}, {Series: 1, TMs: 3, Value: 1.5}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent []*pb.SampleBatch
			send := func(b *pb.SampleBatch) error {
				sent = append(sent, proto.Clone(b).(*pb.SampleBatch)) // the writer reuses b
				if tt.send != nil {
					return tt.send(len(sent))
				}
				return nil
			}
			w := newSampleWriter(context.Background(), send, 4, time.Hour)
			for i, s := range tt.steps {
				err := s.do(w)
				if (s.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), s.wantErr)) {
					t.Errorf("step %d: err = %v, want %q", i, err, s.wantErr)
				}
				if s.sent != len(sent) {
					t.Errorf("step %d: %d batches sent, want %d", i, len(sent), s.sent)
				}
			}
			if len(sent) != len(tt.want) {
				t.Fatalf("%d batches sent, want %d", len(sent), len(tt.want))
			}
			for i := range sent {
				if !proto.Equal(sent[i], tt.want[i]) {
					t.Errorf("batch %d:\n got %v\nwant %v", i, sent[i], tt.want[i])
				}
			}
		})
	}
}

// writeN writes n samples of series id, at t = 0, 1, ... with v = t/2.
func writeN(id SeriesID, n int) func(w *sampleWriter) error {
	return func(w *sampleWriter) error {
		for i := range n {
			if err := w.Write(id, int64(i), float64(i)/2); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestSampleWriterContextEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := newSampleWriter(ctx, func(*pb.SampleBatch) error { return nil }, 4, time.Hour)
	id := w.Series("requests", nil)
	if err := w.Write(id, 1, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := w.Write(id, 2, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel: %v, want context.Canceled", err)
	}
	if err := w.Flush(); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush after cancel: %v, want context.Canceled", err)
	}
	_ = w.close()
	if err := w.Write(id, 3, 3); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after close: %v, want context.Canceled", err)
	}
}

func TestSampleWriterTimer(t *testing.T) {
	sent := make(chan *pb.SampleBatch, 4)
	w := newSampleWriter(context.Background(), func(b *pb.SampleBatch) error {
		sent <- proto.Clone(b).(*pb.SampleBatch)
		return nil
	}, 1024, time.Millisecond)
	defer w.close()
	id := w.Series("requests", nil)
	for round := range 2 {
		if err := w.Write(id, int64(round), 1); err != nil {
			t.Fatal(err)
		}
		b := waitFor(t, sent, "the timer to send the lone sample")
		if len(b.Samples) != 1 || b.Samples[0].TMs != int64(round) {
			t.Errorf("round %d: timer sent %v", round, b)
		}
	}
}

// watchPlugin serves a source whose Watch is f.
func watchPlugin(t testing.TB, f func(ctx context.Context, req WatchRequest, w SampleWriter) error) *Conn {
	r := newRecorder()
	r.watch = f
	c, _ := connect(t, fakePlugin(r))
	return c
}

func TestWatchManySeries(t *testing.T) {
	const series, samples = 7, 20_000
	c := watchPlugin(t, func(ctx context.Context, _ WatchRequest, w SampleWriter) error {
		ids := make([]SeriesID, series)
		for i := range ids {
			ids[i] = w.Series("requests", map[string]string{"cohort": fmt.Sprint(i)})
		}
		for i := range samples {
			if err := w.Write(ids[i%series], int64(i), float64(i)/4); err != nil {
				return err
			}
		}
		return nil
	})
	var col collector
	if err := c.MonitoringSource().Watch(context.Background(), WatchRequest{}, &col); err != nil {
		t.Fatal(err)
	}
	if len(col.defs) != series {
		t.Fatalf("%d series declared to the host, want %d", len(col.defs), series)
	}
	for i, d := range col.defs {
		want := &SeriesDef{ID: SeriesID(firstCallerID + i), Metric: "requests", Labels: map[string]string{"cohort": fmt.Sprint(i)}}
		if !reflect.DeepEqual(d, want) {
			t.Errorf("series %d = %+v, want %+v", i, d, want)
		}
	}
	if len(col.samples) != samples {
		t.Fatalf("%d samples, want %d", len(col.samples), samples)
	}
	for i, s := range col.samples {
		if s.Series != col.defs[i%series] || s.T != int64(i) || s.V != float64(i)/4 {
			t.Fatalf("sample %d = {%v %d %v}, want series %d, t %d", i, s.Series.ID, s.T, s.V, i%series, i)
		}
	}
	// Full batches: at least samples/watchBatchSize flushes; the timer may
	// cut a few short on a slow machine, never most of them.
	if minFlushes := (samples + watchBatchSize - 1) / watchBatchSize; col.flushes < minFlushes || col.flushes > 4*minFlushes {
		t.Errorf("%d batches, want about %d", col.flushes, minFlushes)
	}
}

func TestWatchTimerDeliversLoneSample(t *testing.T) {
	c := watchPlugin(t, func(ctx context.Context, _ WatchRequest, w SampleWriter) error {
		id := w.Series("errors", nil)
		if err := w.Write(id, 42, 0.25); err != nil {
			return err
		}
		<-ctx.Done() // a slow source: nothing more for a long time
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	col := &collector{wrote: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- c.MonitoringSource().Watch(ctx, WatchRequest{}, col) }()
	waitFor(t, col.wrote, "the lone sample")
	cancel()
	if err := waitFor(t, done, "Watch to return"); err != nil {
		t.Errorf("Watch after cancel: %v, want nil", err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.samples) != 1 || col.samples[0].T != 42 || col.samples[0].V != 0.25 {
		t.Errorf("samples %+v, want the one written", col.samples)
	}
}

func TestWatchCancel(t *testing.T) {
	pluginErr := make(chan error, 1)
	c := watchPlugin(t, func(ctx context.Context, _ WatchRequest, w SampleWriter) error {
		id := w.Series("requests", nil)
		for i := 0; ; i++ {
			if err := w.Write(id, int64(i), 1); err != nil {
				pluginErr <- err
				return err
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	col := &collector{onWrite: func(n int) error {
		if n == 5000 {
			cancel()
		}
		return nil
	}}
	if err := c.MonitoringSource().Watch(ctx, WatchRequest{}, col); err != nil {
		t.Errorf("Watch: %v, want nil after cancel", err)
	}
	if err := waitFor(t, pluginErr, "the plugin's Write to fail"); !errors.Is(err, context.Canceled) {
		t.Errorf("plugin's Write after cancel: %v, want context.Canceled", err)
	}
}

func TestWatchErrors(t *testing.T) {
	writerErr := errors.New("store full")
	tests := []struct {
		name     string
		watch    func(ctx context.Context, _ WatchRequest, w SampleWriter) error
		onWrite  func(n int) error
		wantCode Code   // when an *Error is expected
		wantErr  error  // else: errors.Is
		wantMsg  string // fragment
		samples  int    // delivered before the error
	}{
		{
			name: "source fails after samples",
			watch: func(ctx context.Context, _ WatchRequest, w SampleWriter) error {
				id := w.Series("requests", nil)
				for i := range 3 {
					_ = w.Write(id, int64(i), 1)
				}
				return Errorf(CodeUnavailable, "prometheus down")
			},
			wantCode: CodeUnavailable, wantMsg: "prometheus down", samples: 3,
		},
		{
			name: "host writer fails",
			watch: func(ctx context.Context, _ WatchRequest, w SampleWriter) error {
				id := w.Series("requests", nil)
				for i := 0; ; i++ {
					if err := w.Write(id, int64(i), 1); err != nil {
						return err
					}
				}
			},
			onWrite: func(n int) error {
				if n == 10 {
					return writerErr
				}
				return nil
			},
			wantErr: writerErr, wantMsg: "store full", samples: 10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := watchPlugin(t, tt.watch)
			col := &collector{onWrite: tt.onWrite}
			err := c.MonitoringSource().Watch(context.Background(), WatchRequest{}, col)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantErr == nil && CodeOf(err) != tt.wantCode ||
				err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want %q", err, tt.wantMsg)
			}
			if len(col.samples) != tt.samples {
				t.Errorf("%d samples delivered, want %d", len(col.samples), tt.samples)
			}
		})
	}
}

func TestWatchMalformed(t *testing.T) {
	tests := []struct {
		name    string
		batches []*pb.SampleBatch
		want    string
	}{
		{"undeclared series", []*pb.SampleBatch{
			{Series: []*pb.SeriesDef{{Id: 1, Metric: "requests"}}, Samples: []*pb.Sample{{Series: 1}}},
			{Samples: []*pb.Sample{{Series: 7}}},
		}, "series 7, which the plugin never declared"},
		{"undeclared large id", []*pb.SampleBatch{{Samples: []*pb.Sample{{Series: 1 << 30}}}}, "never declared"},
		{"declared twice", []*pb.SampleBatch{
			{Series: []*pb.SeriesDef{{Id: 1 << 20, Metric: "a"}}},
			{Series: []*pb.SeriesDef{{Id: 1 << 20, Metric: "b"}}},
		}, "declared twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connectRaw(t, func(s *grpc.Server) {
				pb.RegisterMonitoringSourceServer(s, scriptedSource{batches: tt.batches})
			})
			err := c.MonitoringSource().Watch(context.Background(), WatchRequest{}, &collector{})
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a malformed answer saying %q", err, tt.want)
			}
		})
	}
}

// scriptedSource answers Watch with fixed batches.
type scriptedSource struct {
	pb.UnimplementedMonitoringSourceServer
	batches []*pb.SampleBatch
}

func (s scriptedSource) Watch(_ *pb.WatchRequest, stream grpc.ServerStreamingServer[pb.SampleBatch]) error {
	for _, b := range s.batches {
		if err := stream.Send(b); err != nil {
			return err
		}
	}
	return nil
}
