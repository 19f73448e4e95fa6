package passbook

// QR check-in and check-out. The organiser's phone or projector shows a QR code of a link to the
// scan page that carries a token: the activity, in or out, and an expiry two minutes ahead,
// signed with HMAC-SHA256 under a key kept in pb_secrets so that every server instance signs
// and verifies alike. The screen fetches a fresh code every minute, so a photo of the code
// passed to someone at home has expired by the time it could be used.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// What a QR code records.
const (
	ScanIn  = "in"  // 签到
	ScanOut = "out" // 签退
)

const (
	qrTokenLife = 2 * time.Minute
	qrKeyName   = "activity_qr_key"
	qrKeySize   = 32
	// Codes are issued from an hour before the start, for those who come early, to an hour
	// after the end, for those who forget to check out at once.
	qrWindow = time.Hour
	// qrImageSize is the PNG's width in pixels: sharp on a projector, small over a slow line.
	qrImageSize = 512
)

// A token is base64url (unpadded) of the activity id (8 bytes, big-endian), the kind ('i' or
// 'o'), the expiry in Unix seconds (8 bytes, big-endian) and the HMAC-SHA256 of those 17 bytes.
const (
	qrTokenBody = 8 + 1 + 8
	qrTokenSize = qrTokenBody + sha256.Size
)

var (
	errBadToken     = errs.Invalid("token", "二维码无效，请扫描活动现场出示的二维码")
	errExpiredToken = errs.Invalid("token", "二维码已过期，请重新扫描现场屏幕上的二维码")
)

// qrClaims are what a token vouches for.
type qrClaims struct {
	activityID int64
	kind       string
	expires    time.Time
}

func kindByte(kind string) byte {
	if kind == ScanIn {
		return 'i'
	}
	return 'o'
}

func signQRToken(key []byte, c qrClaims) string {
	buf := make([]byte, qrTokenBody, qrTokenSize)
	binary.BigEndian.PutUint64(buf[0:8], uint64(c.activityID))
	buf[8] = kindByte(c.kind)
	binary.BigEndian.PutUint64(buf[9:17], uint64(c.expires.Unix()))
	mac := hmac.New(sha256.New, key)
	mac.Write(buf)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(buf))
}

// openQRToken verifies a token under key and returns what it vouches for. Only the exact text
// the server signed verifies: the decoder tolerates line breaks and stray padding bits, so the
// token must also re-encode to itself.
func openQRToken(key []byte, token string, now time.Time) (qrClaims, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != qrTokenSize || base64.RawURLEncoding.EncodeToString(raw) != token {
		return qrClaims{}, errBadToken
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(raw[:qrTokenBody])
	if !hmac.Equal(mac.Sum(nil), raw[qrTokenBody:]) {
		return qrClaims{}, errBadToken
	}
	c := qrClaims{activityID: int64(binary.BigEndian.Uint64(raw[0:8])),
		expires: time.Unix(int64(binary.BigEndian.Uint64(raw[9:17])), 0)}
	switch raw[8] {
	case 'i':
		c.kind = ScanIn
	case 'o':
		c.kind = ScanOut
	default:
		return qrClaims{}, errBadToken
	}
	if c.activityID <= 0 {
		return qrClaims{}, errBadToken
	}
	if !now.Before(c.expires) {
		return qrClaims{}, errExpiredToken
	}
	return c, nil
}

// storedQRKey reads the signing key; sql.ErrNoRows means no code was ever issued.
func storedQRKey(ctx context.Context, q querier) ([]byte, error) {
	var text string
	if err := q.QueryRow(ctx, `SELECT value FROM pb_secrets WHERE name = ?`, qrKeyName).Scan(&text); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(text)
}

// qrKey reads the signing key, creating it on first use. Two instances may create one at once:
// the insert of the second does nothing, and both read back the one that was stored.
func qrKey(ctx context.Context, tx *store.Tx) (key []byte, created bool, err error) {
	key, err = storedQRKey(ctx, tx)
	if !errors.Is(err, sql.ErrNoRows) {
		return key, false, err
	}
	fresh := make([]byte, qrKeySize)
	rand.Read(fresh)
	res, err := tx.Exec(ctx, `INSERT INTO pb_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		qrKeyName, base64.StdEncoding.EncodeToString(fresh))
	if err != nil {
		return nil, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, false, err
	}
	key, err = storedQRKey(ctx, tx)
	return key, n == 1, err
}

// verifiedToken opens a scanned token under the stored key. Without a key no code was ever
// issued, so every token is forged.
func verifiedToken(ctx context.Context, tx *store.Tx, token string) (qrClaims, error) {
	key, err := storedQRKey(ctx, tx)
	if errors.Is(err, sql.ErrNoRows) {
		return qrClaims{}, errBadToken
	}
	if err != nil {
		return qrClaims{}, err
	}
	return openQRToken(key, token, tx.Now())
}

// CheckinCode is a token for the organiser's screen, to be shown as a QR code of the scan link.
type CheckinCode struct {
	ActivityID int64     `json:"activity_id"`
	Kind       string    `json:"kind"`
	Token      string    `json:"token"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// QRToken issues a check-in or check-out token for an open activity the caller organises,
// from an hour before its start to an hour after its end.
func (s *Service) QRToken(ctx context.Context, p *auth.Principal, id int64, kind string) (CheckinCode, error) {
	if kind != ScanIn && kind != ScanOut {
		return CheckinCode{}, errs.Invalid("kind", "kind 应为 in（签到）或 out（签退）")
	}
	var out CheckinCode
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		a, err := loadActivity(ctx, tx, p, id, tx.Now())
		if err != nil {
			return err
		}
		if err := a.managedBy(p); err != nil {
			return err
		}
		switch now := tx.Now(); {
		case a.State != ActivityOpen:
			return a.closed()
		case now.Before(a.StartsAt.Add(-qrWindow)):
			return errs.Conflict("签到二维码在活动开始前1小时起可用")
		case now.After(a.EndsAt.Add(qrWindow)):
			return errs.Conflict("活动已结束超过1小时，不能再扫码；未扫码的党员可由工作人员登记到场")
		}
		key, created, err := qrKey(ctx, tx)
		if err != nil {
			return err
		}
		out = CheckinCode{ActivityID: a.ID, Kind: kind, ExpiresAt: tx.Now().Add(qrTokenLife).Truncate(time.Second)}
		out.Token = signQRToken(key, qrClaims{activityID: a.ID, kind: kind, expires: out.ExpiresAt})
		if !created {
			return nil
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "passbook.qr_key", EntityType: "pb_secret",
			OrgID: a.OrgID, Summary: map[string]any{"name": qrKeyName}})
	})
	return out, err
}

// qrPNG renders a link as a QR code image. Medium error correction survives a glare on a
// projector screen without making the code too dense to read from the back of a room.
func qrPNG(link string) ([]byte, error) {
	code, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	return code.PNG(qrImageSize)
}
