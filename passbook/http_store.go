package passbook

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/web"
)

// registerStore adds the points store (积分超市): the shelf and orders for members, rewards,
// orders and pick-up (核销) for staff, and their JSON API.
func (h *Handlers) registerStore() {
	s := h.srv
	// Everyone with passbook business finds the store: members shop, staff find orders and 核销.
	s.Menu(web.NavItem{Key: "store", Label: "积分超市", Href: "/passbook/store", Perm: PermView, Order: 41})
	web.LabelActions(map[string]string{
		"passbook.reward_create": "新增奖品", "passbook.reward_update": "修改奖品", "passbook.reward_photo": "上传奖品照片",
		"passbook.reward_stock": "调整奖品库存", "passbook.order": "兑换奖品", "passbook.order_fulfil": "奖品核销",
		"passbook.order_cancel": "取消兑换订单", "passbook.expire": "存款到期",
	})
	s.Page("GET /passbook/store", PermView, h.storePage)
	s.Page("GET /passbook/store/confirm", PermRedeem, h.confirmPage)
	s.Page("POST /passbook/orders", PermRedeem, h.orderSubmit)
	s.Page("GET /passbook/orders", PermView, h.ordersPage)
	s.Page("GET /passbook/orders/{id}", PermView, h.orderPage)
	s.Page("POST /passbook/orders/{id}/fulfil", PermFulfil, h.orderFulfilSubmit)
	// Members cancel their own orders and staff those in their care; the service decides which.
	s.Page("POST /passbook/orders/{id}/cancel", PermView, h.orderCancelSubmit)
	s.Page("GET /passbook/pickup", PermFulfil, h.pickupPage)
	s.Page("POST /passbook/pickup", PermFulfil, h.pickupSubmit)
	s.Page("GET /passbook/rewards", PermManage, h.rewardsPage)
	s.Page("GET /passbook/rewards/new", PermManage, h.rewardNewPage)
	s.Page("POST /passbook/rewards", PermManage, h.rewardCreateSubmit)
	s.Page("GET /passbook/rewards/{id}", PermManage, h.rewardPage)
	s.Page("POST /passbook/rewards/{id}", PermManage, h.rewardUpdateSubmit)
	s.Page("POST /passbook/rewards/{id}/photo", PermManage, h.rewardPhotoSubmit)
	s.Page("POST /passbook/rewards/{id}/stock", PermManage, h.stockSubmit)
	s.Page("GET /passbook/rewards/{id}/photo", PermView, h.rewardPhoto)

	s.API("GET /api/v1/passbook/rewards", PermView, h.apiRewards)
	s.API("POST /api/v1/passbook/rewards", PermManage, web.Body(http.StatusCreated, h.svc.CreateReward))
	s.API("GET /api/v1/passbook/rewards/{id}", PermView, web.ByID(h.svc.GetReward))
	s.API("PUT /api/v1/passbook/rewards/{id}", PermManage, web.BodyByID(http.StatusOK, h.svc.UpdateReward))
	s.API("POST /api/v1/passbook/rewards/{id}/stock", PermManage, web.BodyByID(http.StatusOK, h.apiAdjustStock))
	s.API("GET /api/v1/passbook/orders", PermView, h.apiOrders)
	s.API("POST /api/v1/passbook/orders", PermRedeem, h.apiPlaceOrder)
	s.API("GET /api/v1/passbook/orders/{id}", PermView, web.ByID(h.svc.GetOrder))
	s.API("POST /api/v1/passbook/orders/{id}/fulfil", PermFulfil, web.BodyByID(http.StatusOK, h.apiFulfilOrder))
	// The body is optional: a member cancelling from a phone has no reason to give.
	s.API("POST /api/v1/passbook/orders/{id}/cancel", PermView, web.OptionalBodyByID(withReason(h.svc.CancelOrder)))
	s.API("POST /api/v1/passbook/orders/pickup", PermFulfil, web.Body(http.StatusOK, h.apiPickupOrder))
	s.Document(apiDocs, "openapi/store.json")
}

type storeView struct {
	Staff    bool
	Passbook *Passbook
	Deposit  DepositOutlook
	Rewards  []Reward
	Next     string
	Choices  []Passbook // the member's passbooks, when there are several
}

// storePage is the shelf of one passbook: the member's own, or, for staff ordering on a
// member's behalf, one picked by id or printed number. Staff without one see where to go:
// orders, 核销, rewards.
func (h *Handlers) storePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := storeView{Staff: staff(p)}
	id, err := h.storePassbook(r, p, &data)
	if err != nil || id == 0 {
		return h.renderStore(w, r, err, data)
	}
	b, err := h.svc.GetPassbook(r.Context(), p, id)
	if err != nil {
		return err
	}
	data.Passbook = &b
	if data.Deposit, err = h.svc.SpendableDeposit(r.Context(), p, id); err != nil {
		return err
	}
	_, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	rewards, next, err := h.svc.ListRewards(r.Context(), p, RewardFilter{PassbookID: id, Cursor: cursor})
	if err != nil {
		return err
	}
	data.Rewards = rewards
	if next != 0 {
		data.Next = "/passbook/store?passbook_id=" + strconv.FormatInt(id, 10) + "&cursor=" + strconv.FormatInt(next, 10)
	}
	return h.renderStore(w, r, nil, data)
}

func (h *Handlers) renderStore(w http.ResponseWriter, r *http.Request, err error, data storeView) error {
	v := web.View{Title: "积分超市", Active: "store", Data: data, Form: r.URL.Query()}
	if err != nil && !web.FormErrors(&v, err) {
		return err
	}
	status := http.StatusOK
	if err != nil {
		status = web.StatusFor(err)
	}
	return h.srv.Render(w, r, status, h.t, "store", v)
}

// storePassbook works out whose shelf to show: ?passbook_id=, a printed number typed by staff,
// or the caller's own passbook.
func (h *Handlers) storePassbook(r *http.Request, p *auth.Principal, data *storeView) (int64, error) {
	id, err := web.QueryID(r, "passbook_id")
	if err != nil || id != 0 {
		return id, err
	}
	if number := strings.TrimSpace(r.URL.Query().Get("number")); number != "" {
		found, _, err := h.svc.ListPassbooks(r.Context(), p, PassbookFilter{Query: number, Limit: 20})
		if err != nil {
			return 0, err
		}
		for _, b := range found {
			if b.Number == number {
				return b.ID, nil
			}
		}
		return 0, errs.Invalid("number", "未找到存折号为 %s 的存折", number)
	}
	own, err := h.svc.MyPassbooks(r.Context(), p)
	if err != nil || len(own) == 0 {
		return 0, err
	}
	if len(own) > 1 {
		data.Choices = own
	}
	return own[0].ID, nil
}

// confirmPage shows what an order will cost before it is placed; its form carries a fresh
// idempotency key so that a second tap on a slow phone places no second order.
func (h *Handlers) confirmPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderConfirm(w, r, p, http.StatusOK, web.View{Form: r.URL.Query()})
}

type confirmView struct {
	Passbook Passbook
	Reward   Reward
	Quantity int64
	TotalFen int64
	Deposit  DepositOutlook
	AfterFen int64 // spendable deposit after the order; below zero it cannot be placed
	Key      string
}

func (h *Handlers) renderConfirm(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	in, err := orderFromValues(v.Form)
	if err != nil {
		return err
	}
	b, err := h.svc.GetPassbook(r.Context(), p, in.PassbookID)
	if err != nil {
		return err
	}
	rw, err := h.svc.GetReward(r.Context(), p, in.RewardID)
	if err != nil {
		return err
	}
	dep, err := h.svc.SpendableDeposit(r.Context(), p, b.ID)
	if err != nil {
		return err
	}
	key := v.Form.Get("key")
	if key == "" {
		key = rand.Text()
	}
	v.Title, v.Active = "确认兑换", "store"
	total := rw.PriceFen * in.Quantity
	v.Data = confirmView{Passbook: b, Reward: rw, Quantity: in.Quantity, TotalFen: total, Deposit: dep,
		AfterFen: dep.SpendableFen - total, Key: key}
	return h.srv.Render(w, r, status, h.t, "store_confirm", v)
}

func orderFromValues(form url.Values) (OrderInput, error) {
	var in OrderInput
	var err error
	if in.PassbookID, err = strconv.ParseInt(form.Get("passbook_id"), 10, 64); err != nil {
		return in, errs.NotFound("存折不存在")
	}
	if in.RewardID, err = strconv.ParseInt(form.Get("reward_id"), 10, 64); err != nil {
		return in, errs.NotFound("奖品不存在")
	}
	in.Quantity, err = strconv.ParseInt(strings.TrimSpace(form.Get("quantity")), 10, 64)
	if err != nil || in.Quantity < 1 || in.Quantity > maxOrderQuantity {
		return in, errs.Invalid("quantity", "兑换数量应在 1 到 %d 之间", maxOrderQuantity)
	}
	return in, nil
}

func (h *Handlers) orderSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := r.ParseForm(); err != nil {
		return errs.Invalid("", "表单内容有误")
	}
	in, err := orderFromValues(r.PostForm)
	if err == nil {
		var o Order
		if o, err = h.svc.PlaceOrder(r.Context(), p, IdempotencyKey(r.PostForm.Get("key")), in); err == nil {
			return web.Redirect(w, r, orderPath(o.ID), "兑换成功，请凭取货码到社区领取")
		}
	}
	return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderConfirm(w, r, p, status, v) })
}

func orderPath(id int64) string { return "/passbook/orders/" + strconv.FormatInt(id, 10) }

// ordersPage lists orders: a member's own with their pickup codes, or, for staff, those of the
// members in their care, filtered by state and date.
func (h *Handlers) ordersPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := orderFilterFrom(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListOrders(r.Context(), p, f)
	if err != nil {
		return err
	}
	data := struct {
		Orders []Order
		Staff  bool
		Next   string
	}{Orders: list, Staff: staff(p)}
	if next != 0 {
		q := r.URL.Query()
		q.Set("cursor", strconv.FormatInt(next, 10))
		data.Next = "/passbook/orders?" + q.Encode()
	}
	title := "兑换订单"
	if !data.Staff {
		title = "我的兑换"
	}
	return h.srv.Render(w, r, http.StatusOK, h.t, "orders", web.View{Title: title, Active: "store", Data: data, Form: r.URL.Query()})
}

func orderFilterFrom(r *http.Request) (OrderFilter, error) {
	q := r.URL.Query()
	f := OrderFilter{State: q.Get("state"), From: q.Get("from"), To: q.Get("to")}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return f, err
	}
	if f.PassbookID, err = web.QueryID(r, "passbook_id"); err != nil {
		return f, err
	}
	f.OrgID, err = web.QueryID(r, "org_id")
	return f, err
}

type orderView struct {
	Order     Order
	QR        template.URL // the pickup code as a PNG data address
	CanFulfil bool
	CanCancel bool
}

func (h *Handlers) orderPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderOrder(w, r, p, http.StatusOK, web.View{})
}

func (h *Handlers) renderOrder(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	o, err := h.svc.GetOrder(r.Context(), p, id)
	if err != nil {
		return err
	}
	data := orderView{Order: o, CanFulfil: o.fulfillableBy(p), CanCancel: o.cancellableBy(p)}
	if o.PickupCode != "" && o.State == OrderPlaced {
		if data.QR, err = pickupQR(r, o.PickupCode); err != nil {
			return err
		}
	}
	v.Title, v.Active, v.Data = "兑换订单 "+strconv.FormatInt(o.ID, 10), "store", data
	return h.srv.Render(w, r, status, h.t, "order", v)
}

// pickupQR draws the pickup code as a QR image. It carries the address of the pick-up page
// with the code filled in: staff scanning it with a phone land there ready to confirm, and a
// counter scanner typing it into the code box is understood as well (see readPickupCode).
func pickupQR(r *http.Request, code string) (template.URL, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	png, err := qrcode.Encode(scheme+"://"+r.Host+"/passbook/pickup?code="+code, qrcode.Medium, 256)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

func (h *Handlers) orderFulfilSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.FulfilOrder(r.Context(), p, id, r.PostFormValue("code")); err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderOrder(w, r, p, status, v) })
	}
	return web.Redirect(w, r, orderPath(id), "核销成功，奖品已领取")
}

func (h *Handlers) orderCancelSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.svc.CancelOrder(r.Context(), p, id, r.PostFormValue("reason")); err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderOrder(w, r, p, status, v) })
	}
	return web.Redirect(w, r, orderPath(id), "订单已取消，存款已退回")
}

// pickupPage is the counter's 核销 page: one big box for the six digits, refilled from the
// member's QR code when staff scan it with a phone.
func (h *Handlers) pickupPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.srv.Render(w, r, http.StatusOK, h.t, "pickup", web.View{Title: "奖品核销", Active: "store", Form: r.URL.Query()})
}

func (h *Handlers) pickupSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	o, err := h.svc.PickupByCode(r.Context(), p, r.PostFormValue("code"))
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error {
			v.Title, v.Active = "奖品核销", "store"
			return h.srv.Render(w, r, status, h.t, "pickup", v)
		})
	}
	// The result stays on the page with an empty box, ready for the next member in the queue.
	return h.srv.Render(w, r, http.StatusOK, h.t, "pickup", web.View{Title: "奖品核销", Active: "store", Data: o,
		Flash: "核销成功"})
}

// rewardsPage is the rewards admin: the rewards stocked in the caller's subtree, archived ones
// on request.
func (h *Handlers) rewardsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := RewardFilter{Query: q.Get("q"), Archived: q.Get("archived") == "1", Managed: true}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return err
	}
	list, next, err := h.svc.ListRewards(r.Context(), p, f)
	if err != nil {
		return err
	}
	data := struct {
		Rewards []Reward
		Next    string
	}{Rewards: list}
	if next != 0 {
		q.Set("cursor", strconv.FormatInt(next, 10))
		data.Next = "/passbook/rewards?" + q.Encode()
	}
	return h.srv.Render(w, r, http.StatusOK, h.t, "rewards_admin", web.View{Title: "奖品管理", Active: "store", Data: data, Form: q})
}

func (h *Handlers) rewardNewPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.srv.Render(w, r, http.StatusOK, h.t, "reward_new", web.View{Title: "新增奖品", Active: "store",
		Form: url.Values{"stock": {"0"}}})
}

func (h *Handlers) rewardCreateSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	rw, err := h.createRewardFromForm(r, p)
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error {
			v.Title, v.Active = "新增奖品", "store"
			return h.srv.Render(w, r, status, h.t, "reward_new", v)
		})
	}
	return web.Redirect(w, r, rewardPath(rw.ID), "已新增奖品："+rw.Name)
}

func (h *Handlers) createRewardFromForm(r *http.Request, p *auth.Principal) (Reward, error) {
	in := RewardInput{Name: r.PostFormValue("name"), Description: r.PostFormValue("description")}
	var err error
	if in.PriceFen, err = parseYuan("price", r.PostFormValue("price")); err != nil {
		return Reward{}, err
	}
	if in.Stock, err = strconv.ParseInt(strings.TrimSpace(r.PostFormValue("stock")), 10, 64); err != nil {
		return Reward{}, errs.Invalid("stock", "库存应为整数")
	}
	if in.OrgID, err = h.stockingOrgFromForm(r, p); err != nil {
		return Reward{}, err
	}
	if in.Photo, err = formRewardPhoto(r); err != nil {
		return Reward{}, err
	}
	return h.svc.CreateReward(r.Context(), p, in)
}

// stockingOrgFromForm reads the organisation typed as a path of names or a division code; left
// empty it is the one organisation the caller manages, when there is just one.
func (h *Handlers) stockingOrgFromForm(r *http.Request, p *auth.Principal) (int64, error) {
	text := strings.TrimSpace(r.PostFormValue("org"))
	if text == "" {
		roots, err := h.orgs.Children(r.Context(), p, 0, false)
		if err != nil {
			return 0, err
		}
		if len(roots) != 1 {
			return 0, errs.Invalid("org", "请填写提供奖品的乡镇或社区")
		}
		return roots[0].ID, nil
	}
	o, err := h.orgs.ResolveOrg(r.Context(), p, text)
	if err != nil {
		return 0, errs.Invalid("org", "%s", errs.As(err).Message)
	}
	return o.ID, nil
}

// formRewardPhoto reads the optional photo of a form; nil when none was chosen. The service checks
// size and type; reading one byte past the limit is enough for it to refuse.
func formRewardPhoto(r *http.Request) ([]byte, error) {
	f, _, err := r.FormFile("photo")
	if err == http.ErrMissingFile {
		return nil, nil
	}
	if err != nil {
		return nil, errs.Invalid("photo", "照片上传失败，请重新选择")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRewardPhotoBytes+1))
	if err != nil {
		return nil, errs.Invalid("photo", "照片上传失败，请重新选择")
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}

// parseYuan reads an amount typed in yuan ("12", "12.5", "12.50") as fen, without floats.
func parseYuan(field, text string) (int64, error) {
	text = strings.TrimSuffix(strings.TrimSpace(text), "元")
	whole, frac, _ := strings.Cut(text, ".")
	bad := errs.Invalid(field, "金额应为元，最多两位小数，如 12.50")
	if whole == "" || len(whole) > 9 || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, bad
	}
	yuan, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, bad
	}
	fen, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	return yuan*100 + fen, nil
}

func rewardPath(id int64) string { return "/passbook/rewards/" + strconv.FormatInt(id, 10) }

type rewardView struct {
	Reward Reward
	Moves  []StockMove
	Next   string
}

func (h *Handlers) rewardPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderReward(w, r, p, http.StatusOK, web.View{})
}

// renderReward shows a reward's edit form, photo, stock adjustment and stock history; a
// refused form comes back with what was typed.
func (h *Handlers) renderReward(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	rw, err := h.svc.GetReward(r.Context(), p, id)
	if err != nil {
		return err
	}
	_, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	moves, next, err := h.svc.StockMoves(r.Context(), p, id, 50, cursor)
	if err != nil {
		return err
	}
	data := rewardView{Reward: rw, Moves: moves}
	if next != 0 {
		data.Next = rewardPath(id) + "?cursor=" + strconv.FormatInt(next, 10)
	}
	if !v.Form.Has("name") { // not a refused edit: the edit form shows the reward as stored
		if v.Form == nil {
			v.Form = url.Values{}
		}
		v.Form.Set("name", rw.Name)
		v.Form.Set("description", rw.Description)
		v.Form.Set("price", fmt.Sprintf("%d.%02d", rw.PriceFen/100, rw.PriceFen%100))
		if rw.Archived {
			v.Form.Set("archived", "1")
		}
	}
	v.Title, v.Active, v.Data = "奖品 · "+rw.Name, "store", data
	return h.srv.Render(w, r, status, h.t, "reward", v)
}

func (h *Handlers) rewardUpdateSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	in := RewardChange{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Archived: r.PostFormValue("archived") == "1"}
	if in.PriceFen, err = parseYuan("price", r.PostFormValue("price")); err == nil {
		_, err = h.svc.UpdateReward(r.Context(), p, id, in)
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderReward(w, r, p, status, v) })
	}
	return web.Redirect(w, r, rewardPath(id), "奖品已保存")
}

func (h *Handlers) rewardPhotoSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	photo, err := formRewardPhoto(r)
	if err == nil {
		err = h.svc.SetRewardPhoto(r.Context(), p, id, photo)
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderReward(w, r, p, status, v) })
	}
	return web.Redirect(w, r, rewardPath(id), "照片已更新")
}

func (h *Handlers) stockSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	delta, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("delta")), 10, 64)
	if err != nil {
		err = errs.Invalid("delta", "调整数量应为整数：正数入库，负数报损出库")
	} else {
		_, err = h.svc.AdjustStock(r.Context(), p, id, delta, r.PostFormValue("reason"))
	}
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error { return h.renderReward(w, r, p, status, v) })
	}
	return web.Redirect(w, r, rewardPath(id), "库存已调整")
}

// rewardPhoto serves a photo to whoever may see the reward. Pages address it with the
// reward's last edit (?v=), so a browser may keep it for a week and still see a new photo at
// once; it is private because not everyone may see every reward.
func (h *Handlers) rewardPhoto(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	ph, err := h.svc.GetRewardPhoto(r.Context(), p, id)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(ph.Data)
	w.Header().Set("Content-Type", ph.Type)
	w.Header().Set("Cache-Control", "private, max-age=604800")
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(w, r, "", ph.UpdatedAt, bytes.NewReader(ph.Data))
	return nil
}
