package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

const benchRecords = 5000

func benchRecordSet(gen int) []model.Record {
	recs := make([]model.Record, benchRecords)
	for i := range recs {
		name := fmt.Sprintf("svc-%04d", i)
		recs[i] = rec("service", name, fmt.Sprintf(`{"name":%q,"owner":"team-%d","tier":%d,"gen":%d}`, name, i%40, i%3, gen))
	}
	return recs
}

func putAll(recs []model.Record) func(context.Context, *store.Tx) (store.Change, error) {
	return func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		for _, r := range recs {
			if err := tx.PutRecord(ctx, r); err != nil {
				return store.Change{}, err
			}
		}
		return store.Change{Summary: fmt.Sprintf("apply: %d services", len(recs))}, nil
	}
}

// BenchmarkWritePutRecords: one command applying 5000 changed objects.
func BenchmarkWritePutRecords(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, dbPath(b))
	gen := 0
	for b.Loop() {
		b.StopTimer()
		gen++
		recs := benchRecordSet(gen) // a new spec each round, so every put updates
		b.StartTimer()
		if _, err := s.Write(ctx, "bench", "apply", putAll(recs)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRecords), "ns/record")
}

// BenchmarkRecords: reading 5000 objects, as the console does on refresh.
func BenchmarkRecords(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, dbPath(b))
	if _, err := s.Write(ctx, "bench", "apply", putAll(benchRecordSet(0))); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		recs, err := s.Records(ctx)
		if err != nil || len(recs) != benchRecords {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}
