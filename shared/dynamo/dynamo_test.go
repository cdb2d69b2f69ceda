package dynamo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/keyturn/keyturn/shared/ddbtest"
	"github.com/keyturn/keyturn/shared/dynamo"
)

func TestCounterUniqueUnderConcurrency(t *testing.T) {
	db, table := ddbtest.NewTable(t)
	s := dynamo.New(db, table)
	const n = 40
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.NextIDs(context.Background(), dynamo.Counter("product"), 1)
			if err != nil {
				t.Error(err)
				return
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %d handed out twice", id)
		}
		seen[id] = true
	}
	for i := int64(1); i <= n; i++ {
		if !seen[i] {
			t.Errorf("id %d missing: want exactly 1..%d", i, n)
		}
	}
}
