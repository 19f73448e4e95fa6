package passbook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/xlsx"
)

// findChunk is how many numbers one lookup query names.
const findChunk = 500

// found is a sheet row's passbook, or why there is none: a message for the user.
type found struct {
	Passbook
	problem string
}

// findPassbooks resolves how sheet rows name their passbooks (by number, by 身份证号, or both
// for the same person) among the open passbooks in the caller's scope for perm, a few hundred
// per query, so that a sheet of a million rows costs thousands of queries, not millions.
func findPassbooks(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, keys []passbookKey, now time.Time) ([]found, error) {
	out := make([]found, len(keys))
	idNumbers := make([]string, len(keys))
	var numbers, people []string
	for i, k := range keys {
		switch {
		case k.idNumber == "" && k.number == "":
			out[i].problem = "请填写存折号或身份证号"
			continue
		case k.idNumber == "":
		case xlsx.Scientific(k.idNumber):
			out[i].problem = "身份证号被 Excel 转成了科学计数法，末尾数字已丢失：请将该列设为文本格式后重新输入"
			continue
		default:
			n, err := org.ValidateIDNumber(k.idNumber, now)
			if err != nil {
				out[i].problem = errs.As(err).Message
				continue
			}
			idNumbers[i] = n.Number
			people = append(people, n.Number)
		}
		if k.number != "" {
			numbers = append(numbers, k.number)
		}
	}
	byNumber, err := lookUp(ctx, q, p, perm, "pb.number", numbers)
	if err != nil {
		return nil, err
	}
	byPerson, err := lookUp(ctx, q, p, perm, "pe.id_number", people)
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		if out[i].problem != "" {
			continue
		}
		id := idNumbers[i]
		switch {
		case k.number != "" && id != "":
			out[i].problem = fmt.Sprintf("存折号 %s 与身份证号不是同一人，或不在您的管理范围内", k.number)
			for _, b := range byPerson[id] {
				if b.Number == k.number {
					out[i] = found{Passbook: b}
				}
			}
		case k.number != "":
			if b := byNumber[k.number]; len(b) == 1 {
				out[i] = found{Passbook: b[0]}
			} else {
				out[i].problem = fmt.Sprintf("存折号 %s 不存在或不在您的管理范围内", k.number)
			}
		default:
			switch b := byPerson[id]; len(b) {
			case 0:
				out[i].problem = fmt.Sprintf("您的管理范围内没有身份证号为 %s 的存折", org.MaskIDNumber(id))
			case 1:
				out[i] = found{Passbook: b[0]}
			default:
				out[i].problem = "此人有多本存折，请填写存折号"
			}
		}
	}
	return out, nil
}

// lookUp loads the open passbooks in scope whose column is one of values, grouped by it.
func lookUp(ctx context.Context, q querier, p *auth.Principal, perm auth.Permission, column string, values []string) (map[string][]Passbook, error) {
	out := map[string][]Passbook{}
	cond, scopeArgs := p.Scope(perm).Where("o.path", "")
	for start := 0; start < len(values); start += findChunk {
		chunk := values[start:min(start+findChunk, len(values))]
		args := append([]any{}, scopeArgs...)
		for _, v := range chunk {
			args = append(args, v)
		}
		query := `SELECT ` + passbookColumns + `, pe.id_number` + passbookFrom + ` WHERE pb.state <> 'closed' AND ` + cond +
			` AND ` + column + ` IN (?` + strings.Repeat(", ?", len(chunk)-1) + `)`
		rows, err := q.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var idNumber string
			b, err := scanPassbook(rowWithExtra{rows, &idNumber})
			if err != nil {
				rows.Close()
				return nil, err
			}
			key := b.Number
			if column != "pb.number" {
				key = idNumber
			}
			out[key] = append(out[key], b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rowWithExtra scans one more column after a passbook's.
type rowWithExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }
