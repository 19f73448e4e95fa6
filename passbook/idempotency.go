package passbook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"grassroots/errs"
	"grassroots/store"
)

// IdempotencyKey names a client's attempt at a write it may retry (a claim, an order). The
// same user sending the same key with the same request gets the original result back; the
// same key with a different request is a conflict. An empty key means no protection.
type IdempotencyKey string

// requestHash fingerprints a request body for the idempotency check.
func requestHash(request any) (string, error) {
	b, err := json.Marshal(request)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// recall looks up an earlier use of key by user inside tx. It returns the id of the entity
// that attempt created, or 0 when the key is new. On PostgreSQL it first takes a per-key lock
// so that concurrent replays of one key wait for the first to finish and then find it.
func recall(ctx context.Context, tx *store.Tx, userID int64, key IdempotencyKey, entity string, request any) (int64, string, error) {
	if key == "" {
		return 0, "", nil
	}
	if len(key) > 200 || strings.TrimSpace(string(key)) == "" {
		return 0, "", errs.Invalid("Idempotency-Key", "Idempotency-Key 应为 1 到 200 个字符")
	}
	hash, err := requestHash(request)
	if err != nil {
		return 0, "", err
	}
	if err := tx.DB().Dialect.Serialize(ctx, tx, keyLock(userID, key)); err != nil {
		return 0, "", err
	}
	var storedHash, storedEntity string
	var id int64
	err = tx.QueryRow(ctx, `SELECT request_hash, entity, entity_id FROM pb_idempotency WHERE user_id = ? AND key = ?`,
		userID, string(key)).Scan(&storedHash, &storedEntity, &id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, hash, nil
	case err != nil:
		return 0, "", err
	case storedHash != hash || storedEntity != entity:
		return 0, "", errs.Conflict("该 Idempotency-Key 已用于另一个不同的请求")
	}
	return id, hash, nil
}

// remember records that key produced the entity, in the transaction that created it.
func remember(ctx context.Context, tx *store.Tx, userID int64, key IdempotencyKey, hash, entity string, id int64) error {
	if key == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO pb_idempotency (user_id, key, request_hash, entity, entity_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, userID, string(key), hash, entity, id, store.FormatTime(tx.Now()))
	return err
}

// keyLock turns a user's key into an advisory lock number.
func keyLock(userID int64, key IdempotencyKey) int64 {
	h := sha256.Sum256([]byte(string(key)))
	var n int64
	for _, b := range h[:7] {
		n = n<<8 | int64(b)
	}
	return n ^ userID
}
