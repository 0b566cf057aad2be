package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warroom/warroom/store"
)

// TestConcurrentWriters: two handles on one file (as two processes would
// have), each written from several goroutines at once. Every write either
// succeeds or fails with ErrBusy, and the chain stays whole.
func TestConcurrentWriters(t *testing.T) {
	const (
		handles    = 2
		goroutines = 5
		perG       = 10 // 2 handles x 5 goroutines x 10 = 100 writes
	)
	ctx := context.Background()
	path := dbPath(t)
	var stores []*store.Store
	for range handles {
		stores = append(stores, openStore(t, path))
	}

	var ok, busy atomic.Int64
	errs := make(chan error, handles*goroutines*perG)
	var wg sync.WaitGroup
	for h, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				for i := range perG {
					name := fmt.Sprintf("h%d-g%d-%d", h, g, i)
					_, err := s.Write(ctx, fmt.Sprint("actor-", h), "apply", putOne(rec("service", name, `{}`)))
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, store.ErrBusy):
						busy.Add(1)
					default:
						errs <- fmt.Errorf("%s: %w", name, err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d writes committed, %d busy", ok.Load(), busy.Load())

	rep, err := stores[0].VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Events != ok.Load() {
		t.Errorf("after concurrent writes: %+v, want OK with %d events", rep, ok.Load())
	}
	recs, err := stores[1].Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(recs)) != ok.Load() {
		t.Errorf("%d records, want %d (one per committed write)", len(recs), ok.Load())
	}
}

// TestConcurrentOpenProcesses starts several real processes that open one
// new file at the same moment (racing to create and migrate it) and then
// write to it.
func TestConcurrentOpenProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	const procs, writes = 4, 10
	path := dbPath(t)
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestHelperProcessWriter$", "-test.count=1")
		cmds[i].Env = append(os.Environ(),
			"WARROOM_STORE_HELPER_DB="+path,
			"WARROOM_STORE_HELPER_WRITES="+strconv.Itoa(writes),
			"WARROOM_STORE_HELPER_ID="+strconv.Itoa(i))
	}
	// Start them all before waiting for any, so their opens overlap.
	outs := make([]*safeBuffer, procs)
	for i, c := range cmds {
		outs[i] = &safeBuffer{}
		c.Stdout, c.Stderr = outs[i], outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i].String())
		}
	}

	ctx := context.Background()
	s := openStore(t, path)
	rep, err := s.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Events != procs*writes {
		t.Errorf("after %d processes: %+v, want OK with %d events", procs, rep, procs*writes)
	}
	var n int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SchemaVersion(ctx); n != v {
		t.Errorf("schema_migrations has %d rows for version %d: a migration ran twice or not at all", n, v)
	}
}

// TestHelperProcessWriter is the body of each process of
// TestConcurrentOpenProcesses; run directly, it does nothing.
func TestHelperProcessWriter(t *testing.T) {
	path := os.Getenv("WARROOM_STORE_HELPER_DB")
	if path == "" {
		t.Skip("helper process for TestConcurrentOpenProcesses")
	}
	writes, _ := strconv.Atoi(os.Getenv("WARROOM_STORE_HELPER_WRITES"))
	id := os.Getenv("WARROOM_STORE_HELPER_ID")
	ctx := context.Background()
	s, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range writes {
		if _, err := s.Write(ctx, "proc-"+id, "apply", putOne(rec("service", fmt.Sprintf("p%s-%d", id, i), `{}`))); err != nil {
			t.Fatal(err)
		}
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}
