package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"grassroots/store"
	"grassroots/store/storetest"
)

var testSchema = store.Migrations{Package: "storetest", FS: fstest.MapFS{
	"schema/sqlite/001_things.sql": {Data: []byte(`
		CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INTEGER NOT NULL);
		CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);`)},
	"schema/sqlite/002_more.sql": {Data: []byte(`ALTER TABLE things ADD COLUMN tag TEXT;`)},
	"schema/postgres/001_things.sql": {Data: []byte(`
		CREATE TABLE things (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE, n BIGINT NOT NULL);
		CREATE TABLE notes (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body TEXT NOT NULL);`)},
	"schema/postgres/002_more.sql": {Data: []byte(`ALTER TABLE things ADD COLUMN tag TEXT;`)},
}}

func TestStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("migrations apply once and are recorded per package", func(t *testing.T) {
			if err := db.Migrate(ctx, testSchema); err != nil {
				t.Fatalf("second migrate: %v", err)
			}
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE package = ?`, "storetest").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Fatalf("applied migrations = %d, want 2", n)
			}
			pending, err := db.Pending(ctx, testSchema)
			if err != nil || pending != 0 {
				t.Fatalf("pending = %d, %v; want 0", pending, err)
			}
		})

		t.Run("insert returns ids and commit makes rows visible", func(t *testing.T) {
			var id1, id2 int64
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				if id1, err = tx.Insert(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "a", 1); err != nil {
					return err
				}
				id2, err = tx.Insert(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "b", 2)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if id1 <= 0 || id2 <= id1 {
				t.Fatalf("ids %d, %d: want increasing positive ids", id1, id2)
			}
			var sum int
			if err := db.QueryRow(ctx, `SELECT SUM(n) FROM things WHERE name IN (?, ?)`, "a", "b").Scan(&sum); err != nil || sum != 3 {
				t.Fatalf("sum = %d, %v; want 3", sum, err)
			}
		})

		t.Run("an error rolls the whole transaction back", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "c", 3); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			var n int
			db.QueryRow(ctx, `SELECT COUNT(*) FROM things WHERE name = ?`, "c").Scan(&n)
			if n != 0 {
				t.Fatal("row of a failed transaction is visible")
			}
		})

		t.Run("a panic rolls back and the connection stays usable", func(t *testing.T) {
			func() {
				defer func() { recover() }()
				db.Write(ctx, func(tx *store.Tx) error {
					tx.Exec(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "p", 9)
					panic("oops")
				})
			}()
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO notes (body) VALUES (?)`, "after panic")
				return err
			})
			if err != nil {
				t.Fatalf("write after panic: %v", err)
			}
			var n int
			db.QueryRow(ctx, `SELECT COUNT(*) FROM things WHERE name = ?`, "p").Scan(&n)
			if n != 0 {
				t.Fatal("row of a panicked transaction is visible")
			}
		})

		t.Run("unique violations are recognised", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "a", 5)
				return err
			})
			if err == nil || !db.Dialect.IsUniqueViolation(err) {
				t.Fatalf("err = %v, want a unique violation", err)
			}
		})

		t.Run("the transaction clock is the injected one", func(t *testing.T) {
			fixed := time.Date(2026, 3, 1, 2, 3, 4, 5000, time.UTC)
			old := db.Now
			db.Now = func() time.Time { return fixed }
			defer func() { db.Now = old }()
			db.Write(ctx, func(tx *store.Tx) error {
				if !tx.Now().Equal(fixed) {
					t.Errorf("tx.Now = %v, want %v", tx.Now(), fixed)
				}
				return nil
			})
		})

		t.Run("CopyRows loads many rows", func(t *testing.T) {
			rows := make([][]any, 1000)
			for i := range rows {
				rows[i] = []any{"bulk note " + string(rune('a'+i%26))}
			}
			err := db.Write(ctx, func(tx *store.Tx) error {
				return db.Dialect.CopyRows(ctx, tx, "notes", []string{"body"}, rows)
			})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			db.QueryRow(ctx, `SELECT COUNT(*) FROM notes WHERE body LIKE 'bulk note %'`).Scan(&n)
			if n != 1000 {
				t.Fatalf("bulk rows = %d, want 1000", n)
			}
		})

		t.Run("read transactions see one snapshot", func(t *testing.T) {
			err := db.Read(ctx, func(tx *store.Tx) error {
				var before, after int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notes`).Scan(&before); err != nil {
					return err
				}
				if err := db.Write(ctx, func(w *store.Tx) error {
					_, err := w.Exec(ctx, `INSERT INTO notes (body) VALUES ('during read')`)
					return err
				}); err != nil {
					return err
				}
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notes`).Scan(&after); err != nil {
					return err
				}
				if after != before {
					t.Errorf("snapshot moved from %d to %d rows", before, after)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}, testSchema)
}

func TestRebind(t *testing.T) {
	db := storetest.SQLite(t)
	if got := db.Dialect.Rebind("SELECT ?"); got != "SELECT ?" {
		t.Fatalf("sqlite rebind changed the query: %q", got)
	}
}

func TestTimeFormatSortsAsText(t *testing.T) {
	a := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := a.Add(time.Microsecond)
	if !(store.FormatTime(a) < store.FormatTime(b)) {
		t.Fatalf("%s !< %s", store.FormatTime(a), store.FormatTime(b))
	}
	back, err := store.ParseTime(store.FormatTime(b))
	if err != nil || !back.Equal(b) {
		t.Fatalf("round trip %v → %v, %v", b, back, err)
	}
	if got := store.LocalDate(time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)); got != "2027-01-01" {
		t.Fatalf("LocalDate = %s, want 2027-01-01 in Asia/Shanghai", got)
	}
}

func TestBackupCopiesALiveDatabase(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, testSchema)
	if err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO notes (body) VALUES ('before backup')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir() + "/copy.db"
	if err := db.Backup(ctx, target); err != nil {
		t.Fatal(err)
	}
	copyDB, err := store.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	var body string
	if err := copyDB.QueryRow(ctx, `SELECT body FROM notes`).Scan(&body); err != nil || body != "before backup" {
		t.Fatalf("backup holds %q, %v", body, err)
	}
	if pending, err := copyDB.Pending(ctx, testSchema); err != nil || pending != 0 {
		t.Fatalf("backup pending migrations = %d, %v", pending, err)
	}
}

func TestBulkWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const n = 130 // two multi-row statements on SQLite and two single rows
		err := db.Write(ctx, func(tx *store.Tx) error {
			d := tx.DB().Dialect
			ids, err := d.ReserveIDs(ctx, tx, "things", n)
			if err != nil {
				return err
			}
			for i := 1; i < n; i++ {
				if ids[i] <= ids[i-1] {
					t.Fatalf("reserved ids not increasing: %v", ids)
				}
			}
			err = d.CopyFunc(ctx, tx, "things", []string{"id", "name", "n"}, n, func(i int, row []any) {
				row[0], row[1], row[2] = ids[i], "bulk"+string(rune('a'+i%26))+string(rune('a'+i/26)), int64(i)
			})
			if err != nil {
				return err
			}
			// Every other row is new; the others add to the row of the same name.
			return d.UpsertFunc(ctx, tx, "things", []string{"name", "n"}, "name", "n = things.n + excluded.n", n, func(i int, row []any) {
				name := "bulk" + string(rune('a'+i%26)) + string(rune('a'+i/26))
				if i%2 == 1 {
					name = "new" + name
				}
				row[0], row[1] = name, int64(1000)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		var rows, sum, next int64
		if err := db.QueryRow(ctx, `SELECT COUNT(*), SUM(n) FROM things WHERE name LIKE '%bulk%'`).Scan(&rows, &sum); err != nil {
			t.Fatal(err)
		}
		if rows != n+n/2 || sum != n*(n-1)/2+n*1000 {
			t.Fatalf("%d rows summing to %d, want %d and %d", rows, sum, n+n/2, n*(n-1)/2+n*1000)
		}
		// The sequence moved past the reserved ids: a plain insert takes the next one.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			next, err = tx.Insert(ctx, `INSERT INTO things (name, n) VALUES (?, ?)`, "after", 0)
			return err
		}); err != nil {
			t.Fatalf("insert after the bulk: %v", err)
		}
		var most int64
		if err := db.QueryRow(ctx, `SELECT MAX(id) FROM things WHERE name <> 'after'`).Scan(&most); err != nil || next <= most {
			t.Fatalf("next id %d after %d, %v", next, most, err)
		}
	}, testSchema)
}

// TestReadTransactionsOutnumberingConnections: more read transactions at once than the read
// pool has connections, each running queries no one has run before, all finish. Preparing a
// cached statement must not wait for a connection while holding one.
func TestReadTransactionsOutnumberingConnections(t *testing.T) {
	db := storetest.SQLite(t, testSchema)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- db.Read(ctx, func(tx *store.Tx) error {
				for q := range 5 {
					var n int
					query := fmt.Sprintf("SELECT COUNT(*) + %d FROM things WHERE n > ?", g*10+q)
					if err := tx.QueryRow(ctx, query, 0).Scan(&n); err != nil {
						return err
					}
					time.Sleep(time.Millisecond) // hold the connection while the others arrive
				}
				return nil
			})
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSQLiteSynchronousOption(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for dsn, want := range map[string]int{
		filepath.Join(dir, "a.db"):                                     1, // NORMAL
		filepath.Join(dir, "b.db") + "?synchronous=full":               2, // FULL
		"sqlite:" + filepath.Join(dir, "c.db") + "?synchronous=normal": 1,
	} {
		db, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		var got int
		err = db.Write(ctx, func(tx *store.Tx) error { return tx.QueryRow(ctx, "PRAGMA synchronous").Scan(&got) })
		db.Close()
		if err != nil || got != want {
			t.Errorf("%s: synchronous = %d, %v; want %d", dsn, got, err, want)
		}
	}
	if _, err := store.Open(ctx, filepath.Join(dir, "d.db")+"?synchronous=off"); err == nil {
		t.Error("synchronous=off was accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); err != nil {
		t.Errorf("the file is named without its options: %v", err)
	}
}

// TestWALStaysShortUnderReaders: with readers always on the log, SQLite's passive checkpoints
// never let the write-ahead log start over, and it grew by gigabytes in a soak. The store
// empties it when it passes WALLimit, readers or not, and nothing written is lost.
func TestWALStaysShortUnderReaders(t *testing.T) {
	limit, interval := store.WALLimit, store.WALCheckInterval
	store.WALLimit, store.WALCheckInterval = 256<<10, 5*time.Millisecond
	defer func() { store.WALLimit, store.WALCheckInterval = limit, interval }()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, testSchema); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}

	// Readers overlap one another, so that one is always on the log.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var readErr error
	var readMu sync.Mutex
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Read(ctx, func(tx *store.Tx) error {
					var n int
					time.Sleep(time.Millisecond)
					return tx.QueryRow(ctx, `SELECT COUNT(*) FROM notes`).Scan(&n)
				})
				if err != nil {
					readMu.Lock()
					readErr = err
					readMu.Unlock()
					return
				}
			}
		})
	}
	body := string(make([]byte, 2000))
	const writes = 2000
	for i := range writes {
		err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO notes (body) VALUES (?)`, fmt.Sprintf("%d%s", i, body))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Without the store's checkpoints the log now holds every one of those pages and stays
	// that long; with them it is emptied once it passes the limit, with the readers still on.
	deadline := time.Now().Add(30 * time.Second)
	for walSize() >= store.WALLimit && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := walSize(); n >= store.WALLimit {
		t.Errorf("write-ahead log still %d bytes with a limit of %d", n, store.WALLimit)
	}
	ok, err := db.CheckpointWAL(ctx)
	for !ok && err == nil && time.Now().Before(deadline) {
		ok, err = db.CheckpointWAL(ctx)
	}
	if !ok || err != nil {
		t.Errorf("CheckpointWAL with readers on = %v, %v", ok, err)
	}
	close(stop)
	readers.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM notes`).Scan(&n); err != nil || n != writes {
		t.Errorf("notes = %d, %v; want %d", n, err, writes)
	}
}
