package demo

import (
	"fmt"
	"slices"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/passbook"
	"grassroots/store"
)

// demoItem is a catalog entry of the demo and how often retirees do it in a month.
type demoItem struct {
	code     string
	terms    passbook.ItemTerms
	perMonth float64 // chance a retiree claims it in a given month
	quantity int64
}

var countyItems = []demoItem{
	{"YQ01", passbook.ItemTerms{Name: "疫情防控值守", Category: "疫情防控", Points: 5, Unit: "occasion", MaxPerClaim: 1, CapMonth: 20}, 0.35, 1},
	{"HJ01", passbook.ItemTerms{Name: "人居环境整治", Category: "人居环境提升", Points: 3, Unit: "occasion", MaxPerClaim: 1, CapMonth: 15}, 0.6, 1},
	{"TJ01", passbook.ItemTerms{Name: "调解邻里纠纷", Category: "矛盾纠纷化解", Points: 8, Unit: "occasion", MaxPerClaim: 1}, 0.15, 1},
	{"XL01", passbook.ItemTerms{Name: "平安巡逻", Category: "维护社会稳定", Points: 2, Unit: "hour", MaxPerClaim: 4, CapDay: 8}, 0.4, 2},
	{"ZY01", passbook.ItemTerms{Name: "为社区儿童上民族团课", Category: "志愿服务", Points: 3, Unit: "hour", MaxPerClaim: 3}, 0.25, 2},
	{"ZZ01", passbook.ItemTerms{Name: "参加主题党日", Category: "组织生活", Points: 2, Unit: "occasion", MaxPerClaim: 1, CapMonth: 2}, 0.9, 1},
	{"KF01", passbook.ItemTerms{Name: "无故缺席组织生活", Category: "扣分事项", Points: -3, Unit: "occasion", MaxPerClaim: 1}, 0.03, 1},
}

var communityItems = []demoItem{
	{"SQ01", passbook.ItemTerms{Name: "帮扶独居老人", Category: "志愿服务", Points: 4, Unit: "occasion", MaxPerClaim: 1, CapMonth: 16}, 0.3, 1},
}

var rewards = []passbook.RewardInput{
	{Name: "毛巾", Description: "纯棉毛巾一条", PriceFen: 800, Stock: 50},
	{Name: "大米（5公斤）", Description: "本地红米", PriceFen: 3500, Stock: 20},
	{Name: "食用油（5升）", PriceFen: 4500, Stock: 10},
	{Name: "保温杯", PriceFen: 2500, Stock: 15},
	{Name: "老花镜", PriceFen: 1500, Stock: 8},
}

// redPassbook gives 元城镇社区 its Red Passbook: the county's catalog and the community's own
// item, a passbook for each of the ten retirees with a year of postings (claims entered by
// the community secretary for those without a phone, by the member herself otherwise, and
// reviewed by the organising member), a few claims still under review and in 公示, the points
// store with rewards, orders collected, waiting and cancelled, and an upcoming 民族团课.
func (b *builder) redPassbook() error {
	shuji, shenhe, member := b.staff["shequ_shuji"], b.staff["shequ_shenhe"], b.staff["dangyuan"]
	today := time.Now().In(store.Shanghai)
	opened := time.Date(today.Year()-1, today.Month(), 1, 0, 0, 0, 0, store.Shanghai)
	// History posts at once; 公示 starts after it, so the demo shows claims still in 公示.
	history := passbook.DefaultSettings
	history.PublicityDays = 0
	if _, err := b.pb.SetSettings(b.ctx, b.sys, b.county.ID, history); err != nil {
		return err
	}
	items, err := b.catalog(opened)
	if err != nil {
		return err
	}
	var books []passbook.Passbook
	for _, r := range b.retirees {
		pb, err := b.pb.OpenPassbook(b.ctx, shuji, passbook.OpenInput{PersonID: r.ID, Class: "离退休党员", OpenedOn: opened.Format(store.DateLayout)})
		if err != nil {
			return fmt.Errorf("open passbook: %w", err)
		}
		books = append(books, pb)
	}
	for month := opened; month.Before(today); month = month.AddDate(0, 1, 0) {
		for i, pb := range books {
			claimant := shuji
			if i == 0 {
				claimant = member
			}
			// Claims come in day by day, so each passbook's lines read in date order.
			type dated struct {
				day time.Time
				it  catalogItem
			}
			var claims []dated
			for _, it := range items {
				if day := month.AddDate(0, 0, b.names.rng.IntN(28)); b.names.chance(it.perMonth) && day.Before(today) {
					claims = append(claims, dated{day, it})
				}
			}
			slices.SortFunc(claims, func(a, b dated) int { return a.day.Compare(b.day) })
			for _, c := range claims {
				if err := b.claimAndApprove(claimant, shenhe, pb.ID, c.it, c.day); err != nil {
					return err
				}
			}
		}
	}
	current := passbook.DefaultSettings
	current.PublicityDays = 5
	if _, err := b.pb.SetSettings(b.ctx, b.sys, b.county.ID, current); err != nil {
		return err
	}
	yesterday := today.AddDate(0, 0, -1)
	for i, it := range []catalogItem{items[4], items[1], items[5], items[3]} {
		c, _, err := b.pb.SubmitClaim(b.ctx, shuji, passbook.ClaimInput{PassbookID: books[i+1].ID, ItemID: it.id,
			WorkDate: yesterday.Format(store.DateLayout), Quantity: it.quantity, Note: "社区活动"}, nil, "")
		if err != nil {
			return fmt.Errorf("recent claim: %w", err)
		}
		if i < 2 { // two in 公示, two waiting for review
			if _, err := b.pb.Approve(b.ctx, shenhe, c.ID, ""); err != nil {
				return err
			}
		}
	}
	if err := b.store(books, shuji, member); err != nil {
		return err
	}
	return b.lesson(items[4], shuji, member)
}

// lesson publishes next Saturday's 民族团课 for the community's children, as in the seed, with
// the demo member signed up.
func (b *builder) lesson(it catalogItem, organiser, member *auth.Principal) error {
	today := time.Now().In(store.Shanghai)
	days := (int(time.Saturday) - int(today.Weekday()) + 7) % 7
	if days < 2 { // at least a day ahead, so members can still sign up
		days += 7
	}
	saturday := today.AddDate(0, 0, days)
	start := time.Date(saturday.Year(), saturday.Month(), saturday.Day(), 15, 0, 0, 0, store.Shanghai)
	a, err := b.pb.CreateActivity(b.ctx, organiser, passbook.ActivityInput{OrgID: b.community.ID, ActivityTerms: passbook.ActivityTerms{
		Title: "为社区儿童上民族团课", Place: "元城镇社区党群服务中心二楼活动室", Capacity: 15, ItemID: it.id,
		Description: "请离退休党员为社区的孩子们讲民族团结故事，每次两小时。", StartsAt: start, EndsAt: start.Add(2 * time.Hour),
	}})
	if err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	_, _, err = b.pb.SignUp(b.ctx, member, a.ID)
	return err
}

// catalogItem is a created item with what the history needs of it.
type catalogItem struct {
	demoItem
	id int64
}

func (b *builder) catalog(validFrom time.Time) ([]catalogItem, error) {
	var out []catalogItem
	add := func(o org.Org, list []demoItem) error {
		for _, it := range list {
			terms := it.terms
			terms.ValidFrom = validFrom.Format(store.DateLayout)
			created, err := b.pb.CreateItem(b.ctx, b.sys, passbook.ItemInput{OrgID: o.ID, Code: it.code, ItemTerms: terms})
			if err != nil {
				return fmt.Errorf("item %s: %w", it.code, err)
			}
			out = append(out, catalogItem{it, created.ID})
		}
		return nil
	}
	if err := add(b.county, countyItems); err != nil {
		return nil, err
	}
	return out, add(b.community, communityItems)
}

// claimAndApprove files a claim for a past day and has it reviewed; it posts at once while the
// history is built. A claim over a cap is refused at posting, as it would be for real.
func (b *builder) claimAndApprove(claimant, reviewer *auth.Principal, passbookID int64, it catalogItem, day time.Time) error {
	c, _, err := b.pb.SubmitClaim(b.ctx, claimant, passbook.ClaimInput{PassbookID: passbookID, ItemID: it.id,
		WorkDate: day.Format(store.DateLayout), Quantity: it.quantity}, nil, "")
	if err != nil {
		return fmt.Errorf("claim %s on %s: %w", it.code, day.Format(store.DateLayout), err)
	}
	_, err = b.pb.Approve(b.ctx, reviewer, c.ID, "")
	return err
}

// store stocks the community's points store and places orders: most collected, one waiting,
// one cancelled by the member.
func (b *builder) store(books []passbook.Passbook, shuji, member *auth.Principal) error {
	var stocked []passbook.Reward
	for _, r := range rewards {
		r.OrgID = b.community.ID
		created, err := b.pb.CreateReward(b.ctx, shuji, r)
		if err != nil {
			return fmt.Errorf("reward %s: %w", r.Name, err)
		}
		stocked = append(stocked, created)
	}
	for i, pb := range books[:6] {
		orderer := shuji
		if i == 0 {
			orderer = member
		}
		o, err := b.pb.PlaceOrder(b.ctx, orderer, "", passbook.OrderInput{PassbookID: pb.ID, RewardID: stocked[i%len(stocked)].ID, Quantity: 1})
		if errs.Is(err, errs.KindConflict) {
			continue // a member whose deposit does not cover it has no order
		}
		if err != nil {
			return fmt.Errorf("order: %w", err)
		}
		switch i {
		case 0: // waiting to be collected
		case 1:
			if _, err := b.pb.CancelOrder(b.ctx, shuji, o.ID, "换成其他奖品"); err != nil {
				return err
			}
		default:
			if _, err := b.pb.FulfilOrder(b.ctx, shuji, o.ID, o.PickupCode); err != nil {
				return err
			}
		}
	}
	return nil
}
