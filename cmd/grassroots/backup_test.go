package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"grassroots/store"
	"grassroots/store/storetest"
)

// TestBackupUnderWrites takes a backup while four clients post claims and redeem rewards
// through the real server over HTTP, restores it as a fresh database, and proves: both verifiers
// pass on it, every posting and order acknowledged before the backup began is in it, nothing in
// it was left unacknowledged, no transaction in it is half-written, and a server started on it
// takes new postings.
//
// On SQLite the backup is `grassroots backup FILE`, in a process of its own; on PostgreSQL
// (when GRASSROOTS_TEST_POSTGRES is set) `grassroots backup` refuses, and the README's procedure
// is tested instead: `pg_dump -Fc` of the live schema, `pg_restore` into a database created for
// it.
func TestBackupUnderWrites(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		backupTest(t, filepath.Join(t.TempDir(), "live.db"), sqliteBackup{})
	})
	if os.Getenv(storetest.EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) {
			for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
				if _, err := exec.LookPath(tool); err != nil {
					t.Skipf("%s is not installed", tool)
				}
			}
			backupTest(t, storetest.PostgresDSN(t), pgDump{})
		})
	}
}

// A backupMethod copies the live database at dsn into dir while it is written to, and later
// restores that copy as a fresh database, returning the restored database's DSN.
type backupMethod interface {
	backup(t *testing.T, dsn, dir string)
	restore(t *testing.T, dsn, dir string) string
}

type sqliteBackup struct{}

func (sqliteBackup) backup(t *testing.T, dsn, dir string) {
	if out, err := runChild(t, "backup", "--db", dsn, filepath.Join(dir, "backup.db")); err != nil || !strings.Contains(out, "已备份") {
		t.Fatalf("backup under writes: %v\n%s", err, out)
	}
}

// restore copies the backup to where the new server's database lives and opens it by that name.
func (sqliteBackup) restore(t *testing.T, _, dir string) string {
	restored := filepath.Join(t.TempDir(), "restored.db")
	copyFile(t, filepath.Join(dir, "backup.db"), restored)
	return restored
}

// pgDump is the README's PostgreSQL procedure. The test's schema is dumped alone (-n); it is
// restored under the same name into a database of its own, dropped when the test ends.
type pgDump struct{}

func (pgDump) backup(t *testing.T, dsn, dir string) {
	conninfo, schema := libpqDSN(t, dsn)
	out, err := exec.Command("pg_dump", "-Fc", "-n", schema, "-f", filepath.Join(dir, "backup.dump"), conninfo).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_dump under writes: %v\n%s", err, out)
	}
}

func (pgDump) restore(t *testing.T, dsn, dir string) string {
	conninfo, schema := libpqDSN(t, dsn)
	name := fmt.Sprintf("restore_%d", time.Now().UnixNano())
	psql := func(sql string) {
		t.Helper()
		if out, err := exec.Command("psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, conninfo).CombinedOutput(); err != nil {
			t.Fatalf("psql %s: %v\n%s", sql, err, out)
		}
	}
	psql("CREATE DATABASE " + name)
	t.Cleanup(func() { psql("DROP DATABASE " + name + " WITH (FORCE)") })
	u, err := url.Parse(conninfo)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if out, err := exec.Command("pg_restore", "--no-owner", "-d", u.String(), filepath.Join(dir, "backup.dump")).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore into a fresh database: %v\n%s", err, out)
	}
	return storetest.WithSearchPath(u.String(), schema)
}

// libpqDSN splits a grassroots PostgreSQL DSN into what libpq's tools accept (they refuse the
// search_path parameter pgx takes) and the schema that parameter names.
func libpqDSN(t *testing.T, dsn string) (conninfo, schema string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	schema = q.Get("search_path")
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), schema
}

func backupTest(t *testing.T, dsn string, method backupMethod) {
	began := time.Now()
	dir := t.TempDir()
	w := newCrashWorld(t, dsn)
	logs, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(logs.Name())
			t.Logf("server log (end):\n%s", tail(data, 4000))
		}
	})
	s := startServer(t, w.dsn, logs)
	base := s.ready(t)
	l := &ledgerLog{claims: map[int64]int64{}, posted: map[int64]bool{}, orders: map[int64]order{}}
	var stop atomic.Bool
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	wg := w.load(base, l, 0, 4, &stop, seed)
	time.Sleep(time.Second)

	// What was acknowledged before the backup began must all be in it.
	l.mu.Lock()
	postedBefore, ordersBefore := maps.Clone(l.posted), maps.Clone(l.orders)
	claimsBefore := maps.Clone(l.claims)
	l.mu.Unlock()
	backupStart := time.Now()
	method.backup(t, w.dsn, dir)
	backupTook := time.Since(backupStart)
	l.mu.Lock()
	ackedDuring := len(l.posted) - len(postedBefore) + len(l.orders) - len(ordersBefore)
	l.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // writes go on after the copy, too
	stop.Store(true)
	wg.Wait()
	if len(l.failures) > 0 {
		t.Fatalf("clients:\n%s", strings.Join(l.failures, "\n"))
	}
	if len(postedBefore) == 0 || len(ordersBefore) == 0 || ackedDuring == 0 {
		t.Fatalf("the backup was not taken under writes: %d postings and %d orders before it, %d acknowledged during it",
			len(postedBefore), len(ordersBefore), ackedDuring)
	}
	s.kill(t)

	restored := method.restore(t, w.dsn, dir)
	for _, args := range [][]string{{"passbook", "verify"}, {"audit", "verify"}} {
		if out, err := runChild(t, append(args, "--db", restored)...); err != nil {
			t.Fatalf("grassroots %s on the restored copy: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	ctx := context.Background()
	db, err := store.Open(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	for id := range postedBefore {
		if n := count(`SELECT COUNT(*) FROM pb_claims c JOIN pb_transactions t ON t.id = c.tx_id AND t.claim_id = c.id
			WHERE c.id = ? AND c.passbook_id = ? AND c.state = 'posted'`, id, claimsBefore[id]); n != 1 {
			t.Errorf("posting of claim %d, acknowledged before the backup began, is not in the copy", id)
		}
	}
	for id, o := range ordersBefore {
		if n := count(`SELECT COUNT(*) FROM pb_orders WHERE id = ? AND passbook_id = ? AND quantity = ? AND total_fen = ? AND tx_id = ?`,
			id, o.passbook, o.quantity, o.totalFen, o.txID); n != 1 {
			t.Errorf("order %d, acknowledged before the backup began, is not in the copy", id)
		}
	}
	// Nothing in the copy is something no client was told of: the server was not killed, so
	// every request got its answer.
	rows, err := db.Query(ctx, `SELECT c.id FROM pb_claims c JOIN pb_item_versions v ON v.id = c.item_version_id WHERE v.item_id = ?`, w.item)
	if err != nil {
		t.Fatal(err)
	}
	inCopy := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inCopy++
		if _, ok := l.claims[id]; !ok {
			t.Errorf("claim %d is in the copy but was never acknowledged", id)
		}
	}
	rows.Close()
	ordersInCopy := count(`SELECT COUNT(*) FROM pb_orders`)
	for _, c := range []struct{ what, query string }{
		{"transactions without entries", `SELECT COUNT(*) FROM pb_transactions t WHERE NOT EXISTS (SELECT 1 FROM pb_entries e WHERE e.tx_id = t.id)`},
		{"unbalanced transactions", `SELECT COUNT(*) FROM (SELECT tx_id FROM pb_entries GROUP BY tx_id, asset HAVING SUM(amount) <> 0) x`},
		{"redemptions without exactly one order", `SELECT COUNT(*) FROM pb_transactions t WHERE t.kind = 'redeem'
			AND (SELECT COUNT(*) FROM pb_orders o WHERE o.tx_id = t.id) <> 1`},
		{"orders without their stock move", `SELECT COUNT(*) FROM pb_orders o WHERE NOT EXISTS (SELECT 1 FROM pb_stock_moves m
			WHERE m.order_id = o.id AND m.delta = -o.quantity)`},
		{"posted claims without their earning", `SELECT COUNT(*) FROM pb_claims c WHERE c.state = 'posted'
			AND NOT EXISTS (SELECT 1 FROM pb_transactions t WHERE t.id = c.tx_id AND t.claim_id = c.id AND t.kind = 'earn')`},
		{"rewards whose stock is not the sum of their moves", `SELECT COUNT(*) FROM pb_rewards r
			WHERE r.stock <> (SELECT COALESCE(SUM(m.delta), 0) FROM pb_stock_moves m WHERE m.reward_id = r.id)`},
		{"orders without their audit record", `SELECT COUNT(*) FROM pb_orders o WHERE NOT EXISTS (SELECT 1 FROM audit_log a
			WHERE a.action = 'passbook.order' AND a.entity_id = o.id)`},
	} {
		if n := count(c.query); n != 0 {
			t.Errorf("the copy has %d %s", n, c.what)
		}
	}
	db.Close()
	if t.Failed() {
		t.FailNow()
	}

	// The restored database serves: a new posting goes through and lands after the copy's own.
	s = startServer(t, restored, logs)
	after := &ledgerLog{claims: map[int64]int64{}, posted: map[int64]bool{}, orders: map[int64]order{}}
	w.posting(client{http: &http.Client{Timeout: time.Minute}, base: s.ready(t)}, after, "after-restore", w.passbooks[0])
	s.kill(t)
	if len(after.failures) > 0 || len(after.posted) != 1 {
		t.Fatalf("posting on the restored copy: %v", after.failures)
	}
	if out, err := runChild(t, "passbook", "verify", "--db", restored); err != nil {
		t.Fatalf("passbook verify after a posting on the restored copy: %v\n%s", err, out)
	}

	t.Logf("backup of a database under 4 writers took %s; %d postings and %d orders acknowledged before it began, %d during it, "+
		"%d and %d by the end; the copy holds %d claims and %d orders; %s in all",
		backupTook.Round(time.Millisecond), len(postedBefore), len(ordersBefore), ackedDuring, len(l.posted), len(l.orders),
		inCopy, ordersInCopy, time.Since(began).Round(time.Millisecond))
}

// runChild runs grassroots with args in a process of its own and returns its output.
func runChild(t *testing.T, args ...string) (string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), envAsCommand+"=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func tail(data []byte, n int) []byte {
	if len(data) > n {
		return data[len(data)-n:]
	}
	return data
}
