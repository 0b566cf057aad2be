package sdk

import (
	"context"
	"maps"
	"sync"
	"time"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// Watch batching. A batch goes out when it holds watchBatchSize samples,
// on Flush, or watchFlushDelay after its first sample, whichever comes
// first: a busy source fills batches (a 1024-sample batch is ~20 KiB on the
// wire, far below gRPC's 4 MiB limit), a slow one still delivers within
// the delay.
const (
	watchBatchSize  = 1024
	watchFlushDelay = 20 * time.Millisecond
	// watchMaxDefs bounds the series declarations a batch carries, so a
	// source declaring a great many series before writing does not build
	// one huge message.
	watchMaxDefs = 1024
)

// sampleWriter is the SampleWriter a plugin's Watch writes to. It is safe
// for concurrent use.
//
// The batch message and its samples are reused from one send to the
// next, so writing allocates nothing. That is safe because gRPC has
// encoded a message when Send returns; the server installs no stats
// handler or tracing that would keep it.
type sampleWriter struct {
	ctx   context.Context
	done  <-chan struct{}
	send  func(*pb.SampleBatch) error
	size  int
	delay time.Duration
	timer *time.Timer

	mu     sync.Mutex
	batch  pb.SampleBatch
	slab   []pb.Sample // backs batch.Samples
	nextID SeriesID
	armed  bool  // timer set for the current batch
	err    error // sticky: send failed, stream over or Watch returned
}

func newSampleWriter(ctx context.Context, send func(*pb.SampleBatch) error, size int, delay time.Duration) *sampleWriter {
	w := &sampleWriter{
		ctx:   ctx,
		done:  ctx.Done(),
		send:  send,
		size:  size,
		delay: delay,
		slab:  make([]pb.Sample, size),
	}
	w.batch.Samples = make([]*pb.Sample, 0, size)
	w.timer = time.AfterFunc(time.Hour, w.onTimer)
	w.timer.Stop()
	return w
}

func (w *sampleWriter) Series(metric string, labels map[string]string) SeriesID {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nextID++
	id := w.nextID
	w.batch.Series = append(w.batch.Series, &pb.SeriesDef{Id: uint32(id), Metric: metric, Labels: maps.Clone(labels)})
	if len(w.batch.Series) >= watchMaxDefs && w.err == nil {
		_ = w.sendLocked() // a failure is sticky: the next Write reports it
	}
	return id
}

func (w *sampleWriter) Write(series SeriesID, tMillis int64, value float64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	if series == 0 || series > w.nextID {
		return Errorf(CodeInvalid, "write to series %d, which was never declared with Series", series)
	}
	n := len(w.batch.Samples)
	s := &w.slab[n]
	s.Series, s.TMs, s.Value = uint32(series), tMillis, value
	w.batch.Samples = append(w.batch.Samples, s)
	if n+1 >= w.size {
		return w.sendLocked()
	}
	if !w.armed {
		w.armed = true
		w.timer.Reset(w.delay)
	}
	return nil
}

func (w *sampleWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usableLocked(); err != nil {
		return err
	}
	return w.sendLocked()
}

// usableLocked is the error writing fails with now, if any: the first
// one seen, or the context's once the stream's context has ended.
func (w *sampleWriter) usableLocked() error {
	if w.err != nil {
		return w.err
	}
	select {
	case <-w.done:
		w.err = w.ctx.Err()
		return w.err
	default:
		return nil
	}
}

func (w *sampleWriter) sendLocked() error {
	if w.armed {
		w.timer.Stop()
		w.armed = false
	}
	if len(w.batch.Samples) == 0 && len(w.batch.Series) == 0 {
		return nil
	}
	err := w.send(&w.batch)
	w.batch.Samples = w.batch.Samples[:0]
	clear(w.batch.Series)
	w.batch.Series = w.batch.Series[:0]
	if err != nil {
		// A send that failed because the stream's context ended reports
		// the context's error, as every later Write does.
		if ctxErr := w.ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		w.err = err
	}
	return err
}

// onTimer sends a batch that has waited long enough. A timer that fires
// for a batch already sent just sends the next one early.
func (w *sampleWriter) onTimer() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.usableLocked() == nil {
		_ = w.sendLocked()
	}
}

// close ends writing when Watch returns, sending what is batched; after
// it, the stream is never touched again.
func (w *sampleWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	w.armed = false
	var err error
	if w.usableLocked() == nil {
		err = w.sendLocked()
	}
	if w.err == nil {
		w.err = errWatchClosed
	}
	return err
}
