package web_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store/storetest"
	"grassroots/web"
)

type thingInput struct {
	Name string `json:"name"`
}

type thing struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// thingCase is a use case that refuses by name (or, without one, by id) and otherwise echoes.
func thingCase(_ context.Context, p *auth.Principal, id int64, in thingInput) (thing, error) {
	if p == nil {
		return thing{}, errors.New("no caller")
	}
	switch {
	case in.Name == "重名" || id == 409:
		return thing{}, errs.Conflict("已有同名记录")
	case in.Name == "越权" || id == 403:
		return thing{}, errs.Forbidden("无权操作")
	case in.Name == "故障" || id == 500:
		return thing{}, errors.New("disk on fire")
	}
	return thing{ID: id, Name: in.Name}, nil
}

// adapterServer is the harness's database behind a server with test routes through every adapter.
func adapterServer(t *testing.T) *client {
	h := newHarness(t, sqliteOnly(t))
	srv := web.New(web.Config{DB: h.db, Auth: h.auth, Org: h.org, Migrations: migrations,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	create := func(ctx context.Context, p *auth.Principal, in thingInput) (thing, error) {
		return thingCase(ctx, p, 0, in)
	}
	get := func(ctx context.Context, p *auth.Principal, id int64) (thing, error) {
		return thingCase(ctx, p, id, thingInput{})
	}
	srv.API("POST /test/things", "", web.Body(http.StatusCreated, create))
	srv.API("GET /test/things/{id}", "", web.ByID(get))
	srv.API("PUT /test/things/{id}", "", web.BodyByID(http.StatusAccepted, thingCase))
	srv.API("POST /test/things/{id}/note", "", web.OptionalBodyByID(thingCase))
	h.srv, h.ts = srv, httptest.NewServer(srv.Handler())
	t.Cleanup(h.ts.Close)
	return h.login(t, mustAdmin(t, h))
}

// send sends body as it is, so that it may be broken JSON.
func (c *client) send(method, path, body string) response {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.h.ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

func wantThing(t *testing.T, what string, res response, status int, want thing) {
	t.Helper()
	wantStatus(t, what, res, status)
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var got thing
	res.decode(t, &got)
	if got != want {
		t.Errorf("%s: answered %+v, want %+v", what, got, want)
	}
}

func wantError(t *testing.T, what string, res response, status int, code errs.Kind, message string) {
	t.Helper()
	wantStatus(t, what, res, status)
	if res.errorCode() != string(code) {
		t.Errorf("%s: error code %q, want %q: %s", what, res.errorCode(), code, res.body)
	}
	wantText(t, what, res, message)
}

func TestAdapters(t *testing.T) {
	c := adapterServer(t)

	// Body
	wantThing(t, "create", c.json("POST", "/test/things", thingInput{Name: "团课"}), http.StatusCreated, thing{Name: "团课"})
	wantError(t, "broken JSON", c.send("POST", "/test/things", `{"name":`), http.StatusBadRequest, errs.KindInvalid, "请求内容不是合法的 JSON")
	wantError(t, "no body", c.send("POST", "/test/things", ""), http.StatusBadRequest, errs.KindInvalid, "请求内容为空")
	wantError(t, "unknown field", c.send("POST", "/test/things", `{"nam":"团课"}`), http.StatusBadRequest, errs.KindInvalid, "nam")
	wantError(t, "wrong type", c.send("POST", "/test/things", `{"name":1}`), http.StatusBadRequest, errs.KindInvalid, "字段 name 的类型不正确")
	wantError(t, "two objects", c.send("POST", "/test/things", `{} {}`), http.StatusBadRequest, errs.KindInvalid, "只能包含一个 JSON 对象")
	wantError(t, "conflict", c.json("POST", "/test/things", thingInput{Name: "重名"}), http.StatusConflict, errs.KindConflict, "已有同名记录")
	wantError(t, "forbidden", c.json("POST", "/test/things", thingInput{Name: "越权"}), http.StatusForbidden, errs.KindForbidden, "无权操作")
	internal := c.json("POST", "/test/things", thingInput{Name: "故障"})
	wantError(t, "internal", internal, http.StatusInternalServerError, errs.KindInternal, "系统内部错误")
	wantNoText(t, "internal", internal, "disk on fire")

	// ByID
	wantThing(t, "get", c.get("/test/things/7"), http.StatusOK, thing{ID: 7})
	for _, id := range []string{"abc", "0", "-3", "1.5", "99999999999999999999"} {
		wantError(t, "get "+id, c.get("/test/things/"+id), http.StatusNotFound, errs.KindNotFound, "记录不存在")
	}
	wantError(t, "get refused", c.get("/test/things/403"), http.StatusForbidden, errs.KindForbidden, "无权操作")
	wantError(t, "get failed", c.get("/test/things/500"), http.StatusInternalServerError, errs.KindInternal, "系统内部错误")

	// BodyByID reads the id before the body.
	wantThing(t, "update", c.json("PUT", "/test/things/8", thingInput{Name: "党课"}), http.StatusAccepted, thing{ID: 8, Name: "党课"})
	wantError(t, "update bad id", c.send("PUT", "/test/things/x", `{"name":`), http.StatusNotFound, errs.KindNotFound, "记录不存在")
	wantError(t, "update bad body", c.send("PUT", "/test/things/8", `{"name":`), http.StatusBadRequest, errs.KindInvalid, "请求内容不是合法的 JSON")
	wantError(t, "update no body", c.json("PUT", "/test/things/8", nil), http.StatusBadRequest, errs.KindInvalid, "请求内容为空")
	wantError(t, "update refused", c.json("PUT", "/test/things/409", thingInput{}), http.StatusConflict, errs.KindConflict, "已有同名记录")

	// OptionalBodyByID runs without a body and still refuses a bad one.
	wantThing(t, "note without body", c.json("POST", "/test/things/9/note", nil), http.StatusOK, thing{ID: 9})
	wantThing(t, "note with body", c.json("POST", "/test/things/9/note", thingInput{Name: "请假"}), http.StatusOK, thing{ID: 9, Name: "请假"})
	wantError(t, "note bad id", c.json("POST", "/test/things/0/note", nil), http.StatusNotFound, errs.KindNotFound, "记录不存在")
	wantError(t, "note bad body", c.send("POST", "/test/things/9/note", `{"reason":"x"}`), http.StatusBadRequest, errs.KindInvalid, "reason")
	wantError(t, "note refused", c.json("POST", "/test/things/9/note", thingInput{Name: "越权"}), http.StatusForbidden, errs.KindForbidden, "无权操作")
}

func TestRequestLogMasksTokens(t *testing.T) {
	db := storetest.SQLite(t, migrations...)
	var logs bytes.Buffer
	srv := web.New(web.Config{DB: db, Auth: auth.NewService(db), Org: org.NewService(db), Migrations: migrations,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	srv.Public("GET /rate/{token}", "一次性链接", func(w http.ResponseWriter, r *http.Request) {})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/rate/s3cret-one-time-token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if strings.Contains(logs.String(), "s3cret") || !strings.Contains(logs.String(), `"path":"/rate/…"`) {
		t.Fatalf("request log:\n%s", logs.String())
	}
}
