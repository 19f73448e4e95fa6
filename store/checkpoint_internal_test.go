package store

import (
	"context"
	"path/filepath"
	"testing"
)

// The writer's commits hand the WAL to the checkpointer once it holds checkpointPages, and
// a request already waiting covers the next ones.
func TestCommitsAskForCheckpoints(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := db.checkpointer
	if c == nil {
		t.Fatal("no checkpointer on SQLite")
	}
	// Stop the checkpointer's loop so that requests stay queued where the test sees them.
	close(c.quit)
	c.done.Wait()
	c.quit = make(chan struct{})
	c.done.Go(func() { <-c.quit })
	for _, step := range []struct {
		pages  int
		queued int
	}{{1, 0}, {checkpointPages - 1, 0}, {checkpointPages, 1}, {checkpointPages + 5, 1}} {
		db.walCommitted(nil, "main", step.pages)
		if got := len(c.wake); got != step.queued {
			t.Errorf("after a commit leaving %d pages: %d checkpoint requests queued, want %d", step.pages, got, step.queued)
		}
	}
}
