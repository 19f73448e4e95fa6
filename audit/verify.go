package audit

import (
	"context"
	"fmt"

	"grassroots/store"
)

// Broken describes the first record at which the chain fails.
type Broken struct {
	ID     int64
	Reason string
}

func (b *Broken) Error() string { return fmt.Sprintf("audit record %d: %s", b.ID, b.Reason) }

// Verify walks every chain in id order inside one snapshot. It returns the number of records
// checked and, when a chain is broken, a *Broken naming the first bad record.
func Verify(ctx context.Context, db *store.DB) (int64, error) {
	var checked int64
	err := db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+recordColumns+` FROM audit_log a ORDER BY a.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var lastID int64
		heads := map[int]string{} // chain → hash of its last record so far
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				return &Broken{ID: lastID, Reason: "the record after this one is unreadable: " + err.Error()}
			}
			switch {
			case r.PrevHash != heads[r.Chain]:
				return &Broken{ID: r.ID, Reason: fmt.Sprintf("previous-hash link does not match the record before it in chain %d: records are missing or altered", r.Chain)}
			case r.computeHash() != r.Hash:
				return &Broken{ID: r.ID, Reason: "content does not match its hash"}
			}
			heads[r.Chain], lastID = r.Hash, r.ID
			checked++
		}
		return rows.Err()
	})
	return checked, err
}
