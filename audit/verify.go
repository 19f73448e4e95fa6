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

// Verify walks the whole chain in id order inside one snapshot. It returns the number of
// records checked and, when the chain is broken, a *Broken naming the first bad record.
func Verify(ctx context.Context, db *store.DB) (int64, error) {
	var checked int64
	err := db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+recordColumns+` FROM audit_log a ORDER BY a.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var prevID int64
		prevHash := ""
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				return &Broken{ID: prevID + 1, Reason: "unreadable: " + err.Error()}
			}
			switch {
			case r.ID != prevID+1:
				return &Broken{ID: r.ID, Reason: fmt.Sprintf("follows record %d: records are missing", prevID)}
			case r.PrevHash != prevHash:
				return &Broken{ID: r.ID, Reason: "previous-hash link does not match the record before it"}
			case r.computeHash() != r.Hash:
				return &Broken{ID: r.ID, Reason: "content does not match its hash"}
			}
			prevID, prevHash = r.ID, r.Hash
			checked++
		}
		return rows.Err()
	})
	return checked, err
}
