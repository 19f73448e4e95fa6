// Package audit keeps the tamper-evident record of every mutation: an append-only table in
// which each record carries the SHA-256 of its own content and of the record before it in its
// chain. There are a few chains so that concurrent writers on PostgreSQL do not all wait for
// one; a transaction appends to one chain, held until it commits.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"grassroots/store"
)

//go:embed schema
var schema embed.FS

// Migrations is the audit package's schema.
var Migrations = store.Migrations{Package: "audit", FS: schema}

// chainLock is the advisory lock of chain 0; chain c is chainLock + c. Holding a chain's lock
// until commit keeps that chain from forking.
const chainLock = 0x61756469 // "audi"

// chains is how many chains writers spread over. SQLite's single writer only ever uses chain 0.
const chains = 8

// Actor is who did something: a user, or the system (UserID 0) for CLI and background work.
type Actor struct {
	UserID int64
	Name   string
	IP     string
}

// System is the actor for work the operator does from the command line.
var System = Actor{Name: "system"}

// Event is what was done.
type Event struct {
	Action     string // e.g. "org.create", "person.update", "auth.login_failed"
	EntityType string
	EntityID   int64
	OrgID      int64 // the organisation the entity belongs to, 0 if none
	Summary    any   // marshalled to JSON: the change, e.g. {"name":["old","new"]}
}

// Record is one stored audit record.
type Record struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    int64           `json:"actor_id,omitempty"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	EntityType string          `json:"entity_type"`
	EntityID   int64           `json:"entity_id,omitempty"`
	OrgID      int64           `json:"org_id,omitempty"`
	Summary    json.RawMessage `json:"summary"`
	ClientIP   string          `json:"client_ip,omitempty"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
	Chain      int             `json:"chain"`
}

// Append writes one audit record inside tx, chained to the last one.
func Append(ctx context.Context, tx *store.Tx, actor Actor, ev Event) error {
	summary, err := json.Marshal(ev.Summary)
	if err != nil {
		return fmt.Errorf("audit: marshal summary of %s: %w", ev.Action, err)
	}
	chain, err := holdChain(ctx, tx)
	if err != nil {
		return err
	}
	// The chain's head and the new record's id in one statement; the id is drawn while the
	// chain is held, so a chain's ids rise in commit order.
	var prev sql.NullString
	var id int64
	err = tx.QueryRow(ctx, `SELECT (SELECT hash FROM audit_log WHERE chain = ? ORDER BY id DESC LIMIT 1), `+
		tx.DB().Dialect.NextIDSQL("audit_log"), chain).Scan(&prev, &id)
	if err != nil {
		return fmt.Errorf("audit: read chain head: %w", err)
	}
	r := Record{
		ID: id, At: tx.Now(), ActorID: actor.UserID, Actor: actor.Name,
		Action: ev.Action, EntityType: ev.EntityType, EntityID: ev.EntityID, OrgID: ev.OrgID,
		Summary: summary, ClientIP: actor.IP, PrevHash: prev.String, Chain: chain,
	}
	r.Hash = r.computeHash()
	// Nothing in the use case reads the record back: on PostgreSQL it goes with the commit.
	err = tx.Defer(ctx, `INSERT INTO audit_log
		(id, at, actor_id, actor, action, entity_type, entity_id, org_id, summary, client_ip, prev_hash, hash, chain)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, store.FormatTime(r.At), nullID(r.ActorID), r.Actor, r.Action, r.EntityType,
		nullID(r.EntityID), nullID(r.OrgID), string(r.Summary), r.ClientIP, r.PrevHash, r.Hash, r.Chain)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", ev.Action, err)
	}
	return nil
}

// holdChain takes the lock of a chain for the rest of the transaction: the first free one,
// or, when every chain is busy, waits for chain 0. Locks a transaction holds count as free to
// it, so appending twice never waits on itself.
func holdChain(ctx context.Context, tx *store.Tx) (int, error) {
	d := tx.DB().Dialect
	for c := range chains {
		got, err := d.TrySerialize(ctx, tx, chainLock+int64(c))
		if err != nil || got {
			return c, err
		}
	}
	return 0, d.Serialize(ctx, tx, chainLock)
}

// computeHash covers every stored field, the id, the chain and the previous hash included, in
// a fixed order with unambiguous separators.
func (r Record) computeHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x1f%d\x1f%s\x1f%d\x1f%q\x1f%q\x1f%q\x1f%d\x1f%d\x1f%s\x1f%q\x1f%s",
		r.ID, r.Chain, store.FormatTime(r.At), r.ActorID, r.Actor, r.Action, r.EntityType,
		r.EntityID, r.OrgID, r.Summary, r.ClientIP, r.PrevHash)
	return hex.EncodeToString(h.Sum(nil))
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

const recordColumns = `a.id, a.at, COALESCE(a.actor_id, 0), a.actor, a.action, a.entity_type,
	COALESCE(a.entity_id, 0), COALESCE(a.org_id, 0), a.summary, a.client_ip, a.prev_hash, a.hash, a.chain`

func scanRecord(rows interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var at, summary string
	err := rows.Scan(&r.ID, &at, &r.ActorID, &r.Actor, &r.Action, &r.EntityType,
		&r.EntityID, &r.OrgID, &summary, &r.ClientIP, &r.PrevHash, &r.Hash, &r.Chain)
	if err != nil {
		return r, err
	}
	r.Summary = json.RawMessage(summary)
	r.At, err = store.ParseTime(at)
	return r, err
}
