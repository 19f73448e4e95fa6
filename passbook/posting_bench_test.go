package passbook

import (
	"net/http"
	"strconv"
	"testing"

	"grassroots/auth"
	"grassroots/store"
)

// BenchmarkPostingHTTP measures single postings over HTTP: 64 reviewers at once each approve a
// member's claim, and with no 公示 period every approval posts it to the ledger in the same
// request (points, deposit, lot, ranking totals, claim history, audit). The claims are filed
// beforehand, outside the timing. The baseline is the same load on /healthz.
func BenchmarkPostingHTTP(b *testing.B) {
	const clients = 64
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			s := newStoreSite(b, d.open(b, migrations...), clients)
			item, err := s.svc.CreateItem(ctx, auth.System(), ItemInput{OrgID: s.county.ID, Code: "BENCH",
				ItemTerms: ItemTerms{Name: "志愿服务", Category: "志愿服务", Points: 1, Unit: "occasion", MaxPerClaim: 1, ValidFrom: "2026-01-01"}})
			if err != nil {
				b.Fatal(err)
			}
			transport := &http.Transport{MaxIdleConnsPerHost: clients}
			reviewers := make([]*siteClient, clients)
			for i := range reviewers {
				reviewers[i] = s.account(b, "shenhe"+strconv.Itoa(i), auth.RoleReviewer, s.c1, 0)
				reviewers[i].http.Transport = transport
			}
			// The claims' submitter must not be any of the reviewers, who are real accounts.
			clerk := &auth.Principal{UserID: 1 << 40, Username: "daili", Grants: s.c1Staff.Grants}
			b.Run("posting", func(b *testing.B) {
				claims := make([]int64, b.N)
				for n := range claims {
					m := s.members[n%clients]
					c, _, err := s.svc.SubmitClaim(ctx, clerk, ClaimInput{PassbookID: m.pb.ID, ItemID: item.ID, WorkDate: "2026-03-10", Quantity: 1}, nil, "")
					if err != nil {
						b.Fatal(err)
					}
					claims[n] = c.ID
				}
				var next chan int64 = make(chan int64, b.N)
				for _, id := range claims {
					next <- id
				}
				loadStore(b, clients, func(int) *http.Request {
					req, _ := http.NewRequest("POST", s.ts.URL+"/api/v1/passbook/claims/"+strconv.FormatInt(<-next, 10)+"/approve", nil)
					return req
				}, reviewers, http.StatusOK)
				b.StopTimer()
				if _, found, err := Verify(ctx, s.db); err != nil || len(found) > 0 {
					b.Fatalf("ledger after the run: %v %v", found, err)
				}
			})
			b.Run("baseline", func(b *testing.B) {
				loadStore(b, clients, func(int) *http.Request {
					req, _ := http.NewRequest("GET", s.ts.URL+"/healthz", nil)
					return req
				}, reviewers, http.StatusOK)
			})
		})
	}
}

// BenchmarkPosting approves and so posts claims through the service one after another: the
// time the single SQLite writer is held per posting, which bounds postings per second over
// HTTP. The baseline is a bare write transaction of one UPDATE on the same database.
func BenchmarkPosting(b *testing.B) {
	for _, d := range benchDatabases {
		b.Run(d.name, func(b *testing.B) {
			s := newStoreSite(b, d.open(b, migrations...), 8)
			item, err := s.svc.CreateItem(ctx, auth.System(), ItemInput{OrgID: s.county.ID, Code: "BENCH",
				ItemTerms: ItemTerms{Name: "志愿服务", Category: "志愿服务", Points: 1, Unit: "occasion", MaxPerClaim: 1, ValidFrom: "2026-01-01"}})
			if err != nil {
				b.Fatal(err)
			}
			clerk := &auth.Principal{UserID: 1 << 40, Username: "daili", Grants: s.c1Staff.Grants}
			reviewer := principal(1<<41, "shenhe", auth.RoleReviewer, s.c1, 0)
			b.Run("posting", func(b *testing.B) {
				claims := make([]int64, b.N)
				for n := range claims {
					m := s.members[n%len(s.members)]
					c, _, err := s.svc.SubmitClaim(ctx, clerk, ClaimInput{PassbookID: m.pb.ID, ItemID: item.ID, WorkDate: "2026-03-10", Quantity: 1}, nil, "")
					if err != nil {
						b.Fatal(err)
					}
					claims[n] = c.ID
				}
				b.ResetTimer()
				for _, id := range claims {
					if c, err := s.svc.Approve(ctx, reviewer, id, ""); err != nil || c.State != ClaimPosted {
						b.Fatalf("approve %d: %v, %v", id, c.State, err)
					}
				}
			})
			b.Run("baseline", func(b *testing.B) {
				for b.Loop() {
					err := s.db.Write(ctx, func(tx *store.Tx) error {
						_, err := tx.Exec(ctx, `UPDATE pb_items SET code = code WHERE id = ?`, item.ID)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
