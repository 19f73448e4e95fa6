package appraisal

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"grassroots/audit"
	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
)

// Ratings of the three parties. The supervising leader (主管领导) and the HR office
// (组织人事部门) rate signed in; cadres and the masses (干部群众) rate through one-time links
// that HR hands out. A link's token is kept only as a hash; using it marks it used and adds
// ratings that name neither the link nor a time, so nobody — the ratee, HR, an administrator
// reading the database — can tell who gave which scores, while a second use is refused.

// maxLinks bounds one issue of links.
const maxLinks = 500

// anonymous is the audit actor of a rating made through a link.
var anonymous = audit.Actor{Name: "匿名测评"}

// LinksInput issues links: Count anonymous ones (service recipients, colleagues at large),
// or one per person in Holders, whose own name is then left off their form.
type LinksInput struct {
	Count   int     `json:"count"`
	Holders []int64 `json:"holders"`
}

// IssuedLink is a link as handed out; its token is shown this once.
type IssuedLink struct {
	Token      string `json:"token"`
	Path       string `json:"path"` // the phone form: /appraisal/rate/{token}
	HolderID   int64  `json:"holder_id,omitempty"`
	HolderName string `json:"holder_name,omitempty"`
}

// LinkStats counts a cycle's links.
type LinkStats struct {
	Issued int `json:"issued"`
	Used   int `json:"used"`
}

// IssueLinks creates one-time rating links for a cycle.
func (s *Service) IssueLinks(ctx context.Context, p *auth.Principal, cycleID int64, in LinksInput) ([]IssuedLink, error) {
	var out []IssuedLink
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		if err := c.open(ctx, tx, StepMass, "生成测评链接"); err != nil {
			return err
		}
		switch {
		case in.Count != 0 && len(in.Holders) != 0:
			return errs.Invalid("count", "请只填写链接数量或持有人之一")
		case len(in.Holders) > maxLinks || in.Count < 0 || in.Count > maxLinks:
			return errs.Invalid("count", "一次最多生成 %d 个测评链接", maxLinks)
		case in.Count == 0 && len(in.Holders) == 0:
			return errs.Invalid("count", "请填写要生成的测评链接数量")
		}
		holders := append([]int64{}, in.Holders...)
		if in.Count > 0 {
			holders = make([]int64, in.Count)
		}
		seen := map[int64]bool{}
		now := store.FormatTime(tx.Now())
		for _, h := range holders {
			l := IssuedLink{HolderID: h}
			if h != 0 {
				if seen[h] {
					return errs.Invalid("holders", "持有人重复")
				}
				seen[h] = true
				if _, l.HolderName, err = appraiseeOf(ctx, tx, c.id, h, "holders"); err != nil {
					return err
				}
			}
			if l.Token, err = newToken(); err != nil {
				return err
			}
			l.Path = "/appraisal/rate/" + l.Token
			if _, err := tx.Insert(ctx, `INSERT INTO ap_links (cycle_id, org_id, token_hash, holder_id, created_at) VALUES (?, ?, ?, ?, ?)`,
				c.id, c.orgID, hashToken(l.Token), nullID(h), now); err != nil {
				return err
			}
			out = append(out, l)
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.links_issue", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: map[string]any{"count": len(out), "holders": in.Holders}})
	})
	return out, err
}

// LinkStats counts a cycle's links and how many have been used.
func (s *Service) LinkStats(ctx context.Context, p *auth.Principal, cycleID int64) (LinkStats, error) {
	var out LinkStats
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, cycleID)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT COUNT(*), COUNT(CASE WHEN used THEN 1 END) FROM ap_links WHERE cycle_id = ?`, c.id).Scan(&out.Issued, &out.Used)
	})
	return out, err
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// RatingForm is what a link's holder rates: the unit's appraisees, less the holder.
type RatingForm struct {
	OrgName      string      `json:"org_name"`
	Quarter      string      `json:"quarter"`
	QuarterLabel string      `json:"quarter_label"`
	Ratees       []Appraisee `json:"ratees"`
}

// link is a link found by its token.
type link struct {
	id, cycleID, orgID, holder int64
	used                       bool
}

func findLink(ctx context.Context, q querier, token string) (link, error) {
	var l link
	var holder sql.NullInt64
	err := q.QueryRow(ctx, `SELECT id, cycle_id, org_id, holder_id, used FROM ap_links WHERE token_hash = ?`, hashToken(token)).
		Scan(&l.id, &l.cycleID, &l.orgID, &holder, &l.used)
	if errors.Is(err, sql.ErrNoRows) {
		return l, errs.NotFound("测评链接无效")
	}
	l.holder = holder.Int64
	return l, err
}

// LinkForm loads the form a link opens; a used link opens nothing.
func (s *Service) LinkForm(ctx context.Context, token string) (RatingForm, error) {
	var out RatingForm
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		l, err := findLink(ctx, tx, token)
		if err != nil {
			return err
		}
		if l.used {
			return errs.Conflict("该测评链接已经使用过，不能重复测评")
		}
		return linkForm(ctx, tx, l, &out)
	})
	return out, err
}

func linkForm(ctx context.Context, q querier, l link, out *RatingForm) error {
	var quarter string
	if err := q.QueryRow(ctx, `SELECT o.name, c.quarter FROM ap_cycles c JOIN orgs o ON o.id = c.org_id WHERE c.id = ?`, l.cycleID).
		Scan(&out.OrgName, &quarter); err != nil {
		return err
	}
	qq, err := ParseQuarter(quarter)
	if err != nil {
		return err
	}
	out.Quarter, out.QuarterLabel = qq.String(), qq.Label()
	all, err := appraisees(ctx, q, l.cycleID)
	if err != nil {
		return err
	}
	out.Ratees = out.Ratees[:0]
	for _, a := range all {
		if a.PersonID != l.holder {
			out.Ratees = append(out.Ratees, a)
		}
	}
	return nil
}

// RateeScores are one person's scores, 0–100 per dimension.
type RateeScores struct {
	PersonID int64     `json:"person_id"`
	Scores   DimValues `json:"scores"`
}

// MassRatingInput is what a link's holder submits: scores for some or all of the form's people.
type MassRatingInput struct {
	Ratings []RateeScores `json:"ratings"`
}

// MassRatingReceipt confirms a submission without saying anything about who made it.
type MassRatingReceipt struct {
	Rated int `json:"rated"`
}

// RateByLink records a 干部群众 rating through a link and uses the link up.
func (s *Service) RateByLink(ctx context.Context, token string, in MassRatingInput) (MassRatingReceipt, error) {
	var out MassRatingReceipt
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		l, err := findLink(ctx, tx, token)
		if err != nil {
			return err
		}
		if l.used {
			return errs.Conflict("该测评链接已经使用过，不能重复测评")
		}
		if err := stepOpen(ctx, tx, l.cycleID, StepMass, "测评"); err != nil {
			return err
		}
		var form RatingForm
		if err := linkForm(ctx, tx, l, &form); err != nil {
			return err
		}
		allowed := map[int64]bool{}
		for _, a := range form.Ratees {
			allowed[a.PersonID] = true
		}
		if len(in.Ratings) == 0 {
			return errs.Invalid("ratings", "请至少为一人评分")
		}
		seen := map[int64]bool{}
		for _, r := range in.Ratings {
			switch {
			case r.PersonID == l.holder && l.holder != 0:
				return errs.Invalid("ratings", "不能给本人评分")
			case !allowed[r.PersonID]:
				return errs.Invalid("ratings", "被评人不是本次测评的对象")
			case seen[r.PersonID]:
				return errs.Invalid("ratings", "同一人只能评一次")
			}
			seen[r.PersonID] = true
			if err := checkScores(r.Scores); err != nil {
				return err
			}
		}
		// Using the link is one conditional update, so two submissions at once cannot both pass.
		res, err := tx.Exec(ctx, `UPDATE ap_links SET used = TRUE WHERE id = ? AND used = FALSE`, l.id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errs.Conflict("该测评链接已经使用过，不能重复测评"))
		}
		rows := make([][]any, 0, len(in.Ratings))
		for _, r := range in.Ratings {
			sc := r.Scores
			rows = append(rows, []any{l.cycleID, l.orgID, r.PersonID, PartyMass.Key(), sc[DimDe], sc[DimNeng], sc[DimQin], sc[DimJi], sc[DimLian]})
		}
		if err := tx.DB().Dialect.CopyRows(ctx, tx, "ap_ratings",
			[]string{"cycle_id", "org_id", "ratee_id", "party", "de", "neng", "qin", "ji", "lian"}, rows); err != nil {
			return err
		}
		if err := addMassTallies(ctx, tx, l.cycleID, l.orgID, in.Ratings); err != nil {
			return err
		}
		out.Rated = len(rows)
		return audit.Append(ctx, tx, anonymous, audit.Event{Action: "appraisal.rate_mass", EntityType: "appraisal_cycle",
			EntityID: l.cycleID, OrgID: l.orgID, Summary: map[string]any{"rated": len(rows)}})
	})
	return out, err
}

// massTallyColumns are the columns of ap_mass_tallies, in the order addMassTallies writes them.
var massTallyColumns = func() []string {
	cols := []string{"cycle_id", "ratee_id", "org_id", "ratings"}
	for _, d := range Dims() {
		cols = append(cols, d.Key()+"_sum", d.Key()+"_min", d.Key()+"_max")
	}
	return cols
}()

// massTalliesPerInsert bounds the rows of one upsert of addMassTallies (18 parameters a row).
const massTalliesPerInsert = 500

// addMassTallies adds one submission's mass ratings to the ratees' tallies (ap_mass_tallies):
// the count goes up by one, each score is added to its dimension's sum and folded into its
// lowest and highest. It is one multi-row upsert, in the submission's transaction, so a tally
// always holds exactly the rating rows beside it. Ratees go in id order, so that two
// submissions at once on PostgreSQL lock the rows they share in the same order.
func addMassTallies(ctx context.Context, tx *store.Tx, cycleID, orgID int64, ratings []RateeScores) error {
	ratings = slices.SortedFunc(slices.Values(ratings), func(a, b RateeScores) int { return cmp.Compare(a.PersonID, b.PersonID) })
	d := tx.DB().Dialect
	set := "ratings = t.ratings + excluded.ratings"
	for _, dim := range Dims() {
		k := dim.Key()
		set += ", " + k + "_sum = t." + k + "_sum + excluded." + k + "_sum" +
			", " + k + "_min = " + d.Least("t."+k+"_min", "excluded."+k+"_min") +
			", " + k + "_max = " + d.Greatest("t."+k+"_max", "excluded."+k+"_max")
	}
	one := "(?, ?, ?, 1" + strings.Repeat(", ?", 3*int(dimCount)) + ")"
	for len(ratings) > 0 {
		chunk := ratings[:min(len(ratings), massTalliesPerInsert)]
		ratings = ratings[len(chunk):]
		args := make([]any, 0, len(chunk)*(3+3*int(dimCount)))
		for _, r := range chunk {
			args = append(args, cycleID, r.PersonID, orgID)
			for _, dim := range Dims() {
				args = append(args, r.Scores[dim], r.Scores[dim], r.Scores[dim])
			}
		}
		query := "INSERT INTO ap_mass_tallies AS t (" + strings.Join(massTallyColumns, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", len(chunk)), ", ") +
			" ON CONFLICT (cycle_id, ratee_id) DO UPDATE SET " + set
		if _, err := tx.Exec(ctx, query, args...); err != nil {
			return err
		}
	}
	return nil
}

// checkScores refuses a score outside 0–100.
func checkScores(sc DimValues) error {
	for _, d := range Dims() {
		if sc[d] < 0 || sc[d] > 100 {
			return errs.Invalid("scores."+d.Key(), "%s的评分应在 0 到 100 分之间", d.Label())
		}
	}
	return nil
}

// RatingInput is a signed-in rater's scores of one person: the supervising leader (party
// leader) or the HR office (party hr).
type RatingInput struct {
	CycleID  int64     `json:"cycle_id"`
	PersonID int64     `json:"person_id"`
	Party    string    `json:"party"`
	Scores   DimValues `json:"scores"`
}

// RatingRecord is a stored rating as HR sees it; mass ratings name no rater and no time.
type RatingRecord struct {
	ID         int64      `json:"id"`
	CycleID    int64      `json:"cycle_id"`
	PersonID   int64      `json:"person_id"`
	PersonName string     `json:"person_name"`
	Party      Party      `json:"party"`
	Rater      string     `json:"rater"`
	Scores     DimValues  `json:"scores"`
	UpdatedAt  *time.Time `json:"updated_at"`
}

// Rate records or replaces the caller's rating of a person as supervising leader or HR.
func (s *Service) Rate(ctx context.Context, p *auth.Principal, in RatingInput) (RatingRecord, error) {
	var out RatingRecord
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		party, ok := ParseParty(in.Party)
		perm := PermRate
		switch {
		case !ok:
			return errs.Invalid("party", "评价方应为 leader（主管领导）或 hr（组织人事部门）")
		case party == PartyMass:
			return errs.Invalid("party", "干部群众测评须通过匿名测评链接进行")
		case party == PartyHR:
			perm = PermManage
		}
		c, err := loadCycle(ctx, tx, p, perm, in.CycleID)
		if err != nil {
			return err
		}
		if party == PartyLeader {
			err = c.open(ctx, tx, StepLeader, "以主管领导身份评分")
		} else {
			err = c.open(ctx, tx, StepHR, "以组织人事部门身份评分")
		}
		if err != nil {
			return err
		}
		_, name, err := appraiseeOf(ctx, tx, c.id, in.PersonID, "person_id")
		if err != nil {
			return err
		}
		switch {
		case p.UserID == 0:
			return errs.Forbidden("评分须以本人账号进行")
		case p.PersonID != 0 && p.PersonID == in.PersonID:
			return errs.Forbidden("不能给本人评分")
		}
		if err := checkScores(in.Scores); err != nil {
			return err
		}
		if party == PartyLeader {
			if err := supervises(ctx, tx, p, in.PersonID, name); err != nil {
				return err
			}
		}
		sc, now := in.Scores, tx.Now()
		var id int64
		var was DimValues
		err = tx.QueryRow(ctx, `SELECT id, de, neng, qin, ji, lian FROM ap_ratings WHERE cycle_id = ? AND ratee_id = ? AND party = ? AND rater_user_id = ?`,
			c.id, in.PersonID, party.Key(), p.UserID).Scan(&id, &was[DimDe], &was[DimNeng], &was[DimQin], &was[DimJi], &was[DimLian])
		replaced := err == nil
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err = tx.Insert(ctx, `INSERT INTO ap_ratings (cycle_id, org_id, ratee_id, party, rater_user_id, rater_person_id, rater,
					de, neng, qin, ji, lian, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.id, c.orgID, in.PersonID, party.Key(), p.UserID, nullID(p.PersonID), p.Username,
				sc[DimDe], sc[DimNeng], sc[DimQin], sc[DimJi], sc[DimLian], store.FormatTime(now))
			if err != nil && tx.DB().Dialect.IsUniqueViolation(err) {
				return errs.Conflict("评分正在被同时提交，请刷新后重试")
			}
		case err == nil:
			_, err = tx.Exec(ctx, `UPDATE ap_ratings SET de = ?, neng = ?, qin = ?, ji = ?, lian = ?, updated_at = ? WHERE id = ?`,
				sc[DimDe], sc[DimNeng], sc[DimQin], sc[DimJi], sc[DimLian], store.FormatTime(now), id)
		}
		if err != nil {
			return err
		}
		out = RatingRecord{ID: id, CycleID: c.id, PersonID: in.PersonID, PersonName: name, Party: party, Rater: p.Username, Scores: sc, UpdatedAt: &now}
		summary := map[string]any{"person_id": in.PersonID, "party": party.Key(), "scores": sc}
		if replaced {
			summary["was"] = was
		}
		return audit.Append(ctx, tx, p.Actor(), audit.Event{Action: "appraisal.rate", EntityType: "appraisal_cycle",
			EntityID: c.id, OrgID: c.orgID, Summary: summary})
	})
	return out, err
}

// RatingFilter narrows a cycle's ratings.
type RatingFilter struct {
	CycleID  int64
	PersonID int64
	Party    string
}

// ListRatings lists a cycle's ratings for HR.
func (s *Service) ListRatings(ctx context.Context, p *auth.Principal, f RatingFilter) ([]RatingRecord, error) {
	var out []RatingRecord
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		c, err := loadCycle(ctx, tx, p, PermManage, f.CycleID)
		if err != nil {
			return err
		}
		cond, args := p.Scope(PermManage).Where("o.path", "")
		cond += " AND r.cycle_id = ?"
		args = append(args, c.id)
		if f.PersonID != 0 {
			cond += " AND r.ratee_id = ?"
			args = append(args, f.PersonID)
		}
		if f.Party != "" {
			party, ok := ParseParty(f.Party)
			if !ok {
				return errs.Invalid("party", "评价方应为 mass、leader 或 hr")
			}
			cond += " AND r.party = ?"
			args = append(args, party.Key())
		}
		rows, err := tx.Query(ctx, `SELECT r.id, r.ratee_id, pe.name, r.party, r.rater, r.de, r.neng, r.qin, r.ji, r.lian, r.updated_at
			FROM ap_ratings r JOIN orgs o ON o.id = r.org_id JOIN people pe ON pe.id = r.ratee_id
			WHERE `+cond+` ORDER BY r.ratee_id, r.party, r.id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := RatingRecord{CycleID: c.id}
			var party string
			var updated sql.NullString
			if err := rows.Scan(&r.ID, &r.PersonID, &r.PersonName, &party, &r.Rater, &r.Scores[DimDe], &r.Scores[DimNeng],
				&r.Scores[DimQin], &r.Scores[DimJi], &r.Scores[DimLian], &updated); err != nil {
				return err
			}
			r.Party, _ = ParseParty(party)
			if updated.Valid {
				t, err := store.ParseTime(updated.String)
				if err != nil {
					return err
				}
				r.UpdatedAt = &t
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// cycleRatings reads a cycle's ratings folded by ratee and party, and the identified raters'
// totals for uniform-scoring detection. The anonymous mass ratings, most of the rows, come
// folded as RateByLink keeps them (ap_mass_tallies): one row per ratee with their count and the
// sum, lowest and highest of each dimension, all an average needs, trimmed or not. A leader's
// or HR's rating comes as it is, a tally of one, with its rater (identified ratings have a
// rater_user_id, mass ratings none: the condition lets the read use ap_ratings_rated, which
// holds only them); the raters are listed in the order they first rated, as the
// uniform-scoring flags show them.
func cycleRatings(ctx context.Context, q querier, p Policy, cycleID int64) (map[int64]tallies, []RaterTotals, error) {
	rows, err := q.Query(ctx, `SELECT ratee_id, 'mass', 0, 0, '', ratings,
			de_sum, de_min, de_max, neng_sum, neng_min, neng_max, qin_sum, qin_min, qin_max,
			ji_sum, ji_min, ji_max, lian_sum, lian_min, lian_max
		FROM ap_mass_tallies WHERE cycle_id = ?
		UNION ALL
		SELECT ratee_id, party, id, rater_user_id, rater, 1, de, de, de, neng, neng, neng, qin, qin, qin, ji, ji, ji, lian, lian, lian
		FROM ap_ratings WHERE cycle_id = ? AND party <> 'mass' AND rater_user_id IS NOT NULL`, cycleID, cycleID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	byRatee := map[int64]tallies{}
	type rated struct {
		id    int64 // the rating's
		party Party
		user  int64
		rater string
		total int64
	}
	var identified []rated
	for rows.Next() {
		var ratee, id, user int64
		var party, rater string
		var t tally
		if err := rows.Scan(&ratee, &party, &id, &user, &rater, &t.count,
			&t.sum[DimDe], &t.min[DimDe], &t.max[DimDe], &t.sum[DimNeng], &t.min[DimNeng], &t.max[DimNeng],
			&t.sum[DimQin], &t.min[DimQin], &t.max[DimQin], &t.sum[DimJi], &t.min[DimJi], &t.max[DimJi],
			&t.sum[DimLian], &t.min[DimLian], &t.max[DimLian]); err != nil {
			return nil, nil, err
		}
		pa, _ := ParseParty(party)
		ts := byRatee[ratee]
		ts[pa].merge(t)
		byRatee[ratee] = ts
		if id != 0 {
			identified = append(identified, rated{id, pa, user, rater, RaterTotal(p, t.sum)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(identified, func(a, b rated) int { return cmp.Compare(a.id, b.id) })
	type raterKey struct {
		party Party
		user  int64
	}
	index := map[raterKey]int{}
	var raters []RaterTotals
	for _, r := range identified {
		k := raterKey{r.party, r.user}
		i, ok := index[k]
		if !ok {
			i = len(raters)
			index[k] = i
			raters = append(raters, RaterTotals{Party: r.party, Rater: r.rater})
		}
		raters[i].Totals = append(raters[i].Totals, r.total)
	}
	return byRatee, raters, nil
}

// Posts that make someone the supervising leader (主管领导) of the people of the organisation
// they hold them in, and of every organisation below it. The org package records posts as
// memberships; this list is the vocabulary of supervision, as leaderPosts is of pools.
var supervisorPosts = append([]string{"主管领导", "分管领导"}, leaderPosts...)

// supervises checks that the caller is the ratee's supervising leader: their person holds a
// supervising post, today, in the ratee's organisation or one above it. Rating as the leader
// follows the post, not the account's role.
func supervises(ctx context.Context, tx *store.Tx, p *auth.Principal, personID int64, name string) error {
	if p.IsSystem() {
		return nil
	}
	if p.PersonID == 0 {
		return errs.Forbidden("主管领导评价须以本人账号进行，该账号未关联人员")
	}
	var path string
	if err := tx.QueryRow(ctx, `SELECT o.path FROM people pe JOIN orgs o ON o.id = pe.org_id WHERE pe.id = ?`, personID).Scan(&path); err != nil {
		return err
	}
	ids := ancestorIDs(path)
	args := append([]any{p.PersonID, store.LocalDate(tx.Now())}, int64Args(ids)...)
	args = append(args, stringArgs(supervisorPosts)...)
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM memberships m WHERE m.person_id = ? AND (m.ended_on IS NULL OR m.ended_on > ?)
		AND m.org_id IN (`+placeholders(len(ids))+`) AND m.position IN (`+placeholders(len(supervisorPosts))+`)`, args...).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.Forbidden("您不是%s的主管领导，不能以主管领导身份评价", name)
	}
	return nil
}
