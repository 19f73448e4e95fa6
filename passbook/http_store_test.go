package passbook

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/org"
	"grassroots/store"
	"grassroots/store/storetest"
	"grassroots/web"
)

const sitePassword = "Yuanyang#2026"

// storeSite is the store world served over HTTP by the real server, with accounts to sign in.
type storeSite struct {
	*storeWorld
	srv  *web.Server
	ts   *httptest.Server
	auth *auth.Service
}

func newStoreSite(t testing.TB, db *store.DB, members int) *storeSite {
	t.Helper()
	s := &storeSite{storeWorld: newStoreWorld(t, db, storeSettings, members), auth: auth.NewService(db)}
	s.srv = web.New(web.Config{DB: db, Auth: s.auth, Org: s.orgs, Migrations: migrations,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	Register(s.srv, s.svc, s.orgs)
	s.ts = httptest.NewServer(s.srv.Handler())
	t.Cleanup(s.ts.Close)
	return s
}

// account creates a user holding role on o and signs them in.
func (s *storeSite) account(t testing.TB, username string, role auth.RoleKey, o org.Org, personID int64) *siteClient {
	t.Helper()
	_, _, err := s.auth.CreateUser(ctx, auth.System(), auth.NewUser{Username: username, DisplayName: username,
		Password: sitePassword, PersonID: personID, Grants: []auth.GrantInput{{Role: role, OrgID: o.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &siteClient{t: t, base: s.ts.URL, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if res := c.json("POST", "/api/v1/login", map[string]string{"username": username, "password": sitePassword}, nil); res.status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, res.status, res.body)
	}
	return c
}

type siteClient struct {
	t    testing.TB
	base string
	http *http.Client
}

type siteResponse struct {
	status int
	header http.Header
	body   string
}

func (c *siteClient) do(req *http.Request) siteResponse {
	c.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return siteResponse{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (c *siteClient) get(path string, header http.Header) siteResponse {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	return c.do(req)
}

func (c *siteClient) json(method, path string, body any, header http.Header) siteResponse {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return c.do(req)
}

// form posts as a same-origin browser would.
func (c *siteClient) form(path, contentType string, body io.Reader) siteResponse {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func (c *siteClient) postForm(path string, values url.Values) siteResponse {
	return c.form(path, "application/x-www-form-urlencoded", strings.NewReader(values.Encode()))
}

func (r siteResponse) want(t testing.TB, what string, status int, texts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %.400s", what, r.status, status, r.body)
	}
	for _, text := range texts {
		if !strings.Contains(r.body, text) {
			t.Fatalf("%s: body lacks %q: %.600s", what, text, r.body)
		}
	}
}

func (r siteResponse) order(t testing.TB) Order {
	t.Helper()
	var o struct {
		ID         int64  `json:"id"`
		State      string `json:"state"`
		PickupCode string `json:"pickup_code"`
		PersonName string `json:"person_name"`
	}
	if err := json.Unmarshal([]byte(r.body), &o); err != nil {
		t.Fatalf("decode order %q: %v", r.body, err)
	}
	return Order{ID: o.ID, State: o.State, PickupCode: o.PickupCode, PersonName: o.PersonName}
}

func rewardPNG() []byte {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4)))
	return buf.Bytes()
}

func TestEveryStoreRouteIsDocumented(t *testing.T) {
	s := newStoreSite(t, storetest.SQLite(t, migrations...), 0)
	n := 0
	for _, r := range s.srv.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/passbook/rewards") || strings.HasPrefix(r.Path, "/api/v1/passbook/orders") {
			n++
			if !s.srv.Documented(r.Method, r.Path) {
				t.Errorf("%s %s is not in the OpenAPI description", r.Method, r.Path)
			}
		}
	}
	if n != 11 {
		t.Fatalf("%d store API routes registered, want 11", n)
	}
}

func TestStoreAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStoreSite(t, db, 2)
		a, b := s.members[0], s.members[1]
		s.fund(t, a.pb, 20, "2026-03-01")
		s.fund(t, b.pb, 20, "2026-03-01")
		kettle := s.reward(t, s.c1, "电水壶", 1500, 1)
		alice := s.account(t, "alice", auth.RoleMember, s.c1, a.pb.PersonID)
		bob := s.account(t, "bob", auth.RoleMember, s.c1, b.pb.PersonID)
		outsider := s.account(t, "nansha", auth.RoleMember, s.c2, s.outsider.pb.PersonID)
		clerk := s.account(t, "clerk", auth.RoleOrgAdmin, s.c1, 0)

		body := map[string]int64{"passbook_id": a.pb.ID, "reward_id": kettle.ID, "quantity": 1}
		key := http.Header{"Idempotency-Key": {"alice-kettle-1"}}
		first := alice.json("POST", "/api/v1/passbook/orders", body, key)
		first.want(t, "order", http.StatusCreated, `"state":"placed"`, `"total_fen":1500`)
		o := first.order(t)
		replay := alice.json("POST", "/api/v1/passbook/orders", body, key)
		replay.want(t, "replay", http.StatusCreated)
		if replay.order(t).ID != o.ID {
			t.Fatalf("replay created order %d; want the original %d", replay.order(t).ID, o.ID)
		}
		body["quantity"] = 2
		alice.json("POST", "/api/v1/passbook/orders", body, key).want(t, "replay with another body", http.StatusConflict,
			`"code":"conflict"`, "Idempotency-Key")

		sold := bob.json("POST", "/api/v1/passbook/orders", map[string]int64{"passbook_id": b.pb.ID, "reward_id": kettle.ID, "quantity": 1}, nil)
		sold.want(t, "sold out", http.StatusConflict)
		if !regexp.MustCompile(`^\{"error":\{"code":"conflict","message":"库存不足[^"]*"\}\}\n$`).MatchString(sold.body) {
			t.Fatalf("sold-out body = %s", sold.body)
		}
		outsider.get("/api/v1/passbook/rewards/"+strconv.FormatInt(kettle.ID, 10), nil).want(t, "another community's reward",
			http.StatusNotFound, `"code":"not_found"`)
		outsider.get("/api/v1/passbook/orders/"+strconv.FormatInt(o.ID, 10), nil).want(t, "another community's order",
			http.StatusNotFound)
		bob.json("POST", "/api/v1/passbook/orders/"+strconv.FormatInt(o.ID, 10)+"/cancel", nil, nil).want(t, "cancel another's order",
			http.StatusNotFound)

		clerk.get("/api/v1/passbook/orders/"+strconv.FormatInt(o.ID, 10), nil).want(t, "staff read", http.StatusOK)
		if strings.Contains(clerk.get("/api/v1/passbook/orders", nil).body, o.PickupCode) {
			t.Fatal("staff can read the member's pickup code")
		}
		clerk.json("POST", "/api/v1/passbook/orders/pickup", map[string]string{"code": "000000"}, nil).want(t, "unknown code",
			http.StatusNotFound)
		done := clerk.json("POST", "/api/v1/passbook/orders/pickup", map[string]string{"code": o.PickupCode}, nil)
		done.want(t, "pick-up", http.StatusOK, `"state":"fulfilled"`, `"person_name":"党员001"`)
		alice.json("POST", "/api/v1/passbook/orders/"+strconv.FormatInt(o.ID, 10)+"/cancel", nil, nil).want(t, "cancel collected",
			http.StatusConflict, "订单已领取")

		clerk.json("POST", "/api/v1/passbook/rewards/"+strconv.FormatInt(kettle.ID, 10)+"/stock",
			map[string]any{"delta": -1, "reason": "报损"}, nil).want(t, "write-off below zero", http.StatusConflict, "库存不足")
		clerk.json("PUT", "/api/v1/passbook/rewards/"+strconv.FormatInt(kettle.ID, 10),
			map[string]any{"name": "电水壶", "price_fen": 1800, "archived": false}, nil).want(t, "edit", http.StatusOK, `"price_fen":1800`)
		alice.json("POST", "/api/v1/passbook/rewards", map[string]any{"org_id": s.c1.ID, "name": "x", "price_fen": 1}, nil).want(t,
			"member creating a reward", http.StatusForbidden)
		s.wantSound(t)
	}, migrations...)
}

func TestStorePages(t *testing.T) {
	s := newStoreSite(t, storetest.SQLite(t, migrations...), 1)
	m := s.members[0]
	s.fund(t, m.pb, 30, "2026-03-01")
	alice := s.account(t, "alice", auth.RoleMember, s.c1, m.pb.PersonID)
	outsider := s.account(t, "nansha", auth.RoleMember, s.c2, s.outsider.pb.PersonID)
	clerk := s.account(t, "clerk", auth.RoleOrgAdmin, s.c1, 0)

	// Staff create a reward with its photo in one form.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"name": "蒲扇", "description": "竹编", "price": "12.5", "stock": "3"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("photo", "fan.png")
	fw.Write(rewardPNG())
	mw.Close()
	created := clerk.form("/passbook/rewards", mw.FormDataContentType(), &buf)
	created.want(t, "create reward", http.StatusSeeOther)
	rewardPage := created.header.Get("Location")
	clerk.get(rewardPage, nil).want(t, "reward page", http.StatusOK, "蒲扇", "12.50", "初始库存")
	fan, _, _ := s.svc.ListRewards(ctx, auth.System(), RewardFilter{Query: "蒲扇"})
	if len(fan) != 1 || fan[0].PriceFen != 1250 || fan[0].Stock != 3 || !fan[0].HasPhoto {
		t.Fatalf("created reward = %+v", fan)
	}
	clerk.postForm(rewardPage+"/stock", url.Values{"delta": {"-5"}, "reason": {"报损"}}).want(t, "write-off below zero",
		http.StatusConflict, "库存不足：当前库存 3 件", `value="报损"`)

	// The photo goes to those who may see the reward, cached privately.
	photo := "/passbook/rewards/" + strconv.FormatInt(fan[0].ID, 10) + "/photo"
	got := alice.get(photo, nil)
	got.want(t, "photo", http.StatusOK)
	if got.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(got.header.Get("Cache-Control"), "private") || got.header.Get("ETag") == "" {
		t.Fatalf("photo headers: %v", got.header)
	}
	alice.get(photo, http.Header{"If-None-Match": {got.header.Get("ETag")}}).want(t, "revalidated photo", http.StatusNotModified)
	outsider.get(photo, nil).want(t, "another community's photo", http.StatusNotFound)

	// The member orders from the phone: shelf, confirmation, order with pickup code and QR.
	alice.get("/passbook/store", nil).want(t, "store", http.StatusOK, "蒲扇", "30.00 元", "可用存款")
	confirm := alice.get("/passbook/store/confirm?passbook_id="+strconv.FormatInt(m.pb.ID, 10)+
		"&reward_id="+strconv.FormatInt(fan[0].ID, 10)+"&quantity=2", nil)
	confirm.want(t, "confirm", http.StatusOK, "25.00 元", "兑换后")
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(confirm.body)
	if key == nil {
		t.Fatal("the confirmation carries no idempotency key")
	}
	order := url.Values{"passbook_id": {strconv.FormatInt(m.pb.ID, 10)}, "reward_id": {strconv.FormatInt(fan[0].ID, 10)},
		"quantity": {"2"}, "key": {key[1]}}
	placed := alice.postForm("/passbook/orders", order)
	placed.want(t, "place", http.StatusSeeOther)
	again := alice.postForm("/passbook/orders", order)
	if again.header.Get("Location") != placed.header.Get("Location") || s.count(t, `SELECT COUNT(*) FROM pb_orders`) != 1 {
		t.Fatalf("a second tap placed another order: %s vs %s", again.header.Get("Location"), placed.header.Get("Location"))
	}
	mine := alice.get(placed.header.Get("Location"), nil)
	mine.want(t, "order page", http.StatusOK, "取货码", "data:image/png;base64,", "取消订单")
	code := regexp.MustCompile(`class="pickup-code">(\d{6})<`).FindStringSubmatch(mine.body)
	if code == nil {
		t.Fatal("the order page shows no pickup code")
	}
	alice.get("/passbook/orders", nil).want(t, "my orders", http.StatusOK, "我的兑换", code[1])
	over := maps.Clone(order)
	over.Set("quantity", "9")
	over.Set("key", "another")
	alice.postForm("/passbook/orders", over).want(t, "sold out", http.StatusConflict, "库存不足")

	// Staff hand it over at the counter.
	clerk.get("/passbook/orders?state=placed", nil).want(t, "orders", http.StatusOK, "党员001", "蒲扇 × 2")
	clerk.postForm("/passbook/pickup", url.Values{"code": {"12345"}}).want(t, "bad code", http.StatusBadRequest, "6位数字")
	clerk.postForm("/passbook/pickup", url.Values{"code": {code[1]}}).want(t, "pick-up", http.StatusOK, "核销成功", "党员001", "蒲扇 × 2")
	clerk.get("/passbook/store", nil).want(t, "store hub for staff", http.StatusOK, "代党员兑换", "奖品核销")
	clerk.get("/passbook/store?number=nope", nil).want(t, "unknown passbook number", http.StatusBadRequest, "未找到存折号为 nope 的存折")
	clerk.get("/passbook/store?number="+url.QueryEscape(m.pb.Number), nil).want(t, "ordering on a member's behalf",
		http.StatusOK, "党员001", "蒲扇", "5.00 元")
	clerk.get("/passbook/rewards", nil).want(t, "rewards admin", http.StatusOK, "蒲扇")
	alice.get("/passbook/rewards", nil).want(t, "rewards admin for a member", http.StatusForbidden)
}
