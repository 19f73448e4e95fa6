package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"grassroots/errs"
)

// fuzzBody has the shapes request bodies have: numbers of both widths, text, flags, lists,
// an optional value, a nested object and a map.
type fuzzBody struct {
	ID     int64            `json:"id"`
	Count  int              `json:"count"`
	Name   string           `json:"name"`
	Active bool             `json:"active"`
	Tags   []string         `json:"tags"`
	IDs    []int64          `json:"ids"`
	Limit  *int64           `json:"limit"`
	Nested fuzzNested       `json:"nested"`
	Values map[string]int64 `json:"values"`
}

type fuzzNested struct {
	Value int64  `json:"value"`
	Note  string `json:"note"`
}

// fuzzFields are fuzzBody's JSON field names, the only ones an error may point at.
var fuzzFields = map[string]bool{"id": true, "count": true, "name": true, "active": true, "tags": true, "ids": true,
	"limit": true, "nested": true, "values": true}

// FuzzDecodeJSON feeds arbitrary bodies to DecodeJSON, which every JSON route uses. A refusal
// must be invalid input answered 400 with a Chinese message (no Go error text) and, when it
// names a field, one of the body's; what is accepted must be a single JSON value and come back
// the same through encoding and decoding again.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"count":2,"name":"张三","active":true,"tags":["a"],"ids":[1,2],"limit":5,"nested":{"value":3,"note":"x"},"values":{"de":90}}`,
		`{}`, `null`, ``, ` `, `[]`, `"text"`, `12`, `{"id":"1"}`, `{"id":1.5}`, `{"id":1e400}`, `{"id":99999999999999999999}`,
		`{"count":-9223372036854775809}`, `{"extra":1}`, `{"nested":{"extra":1}}`, `{"nested":{"value":"x"}}`,
		`{"values":{"a":"b"}}`, `{"tags":[1]}`, `{"id":1}{"id":2}`, `{"id":1} x`, `{"id":1}]`, `{"id":`,
		`{"name":"\ud800"}`, "{\"name\":\"\xff\"}", `{"ID":1,"id":2}`, `{"limit":null}`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		`{"nested":` + strings.Repeat(`{"value":`, 50) + `1` + strings.Repeat("}", 51),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzBody
		err := DecodeJSON(httptest.NewRequest("POST", "/api/v1/x", bytes.NewReader(body)), &v)
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		if !json.Valid(body) {
			t.Fatalf("%q accepted but is not one JSON value", body)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%+v: %v", v, err)
		}
		var w fuzzBody
		if err := DecodeJSON(httptest.NewRequest("POST", "/api/v1/x", bytes.NewReader(again)), &w); err != nil {
			t.Fatalf("%q accepted as %+v, whose encoding %s is refused: %v", body, v, again, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("%q: %+v comes back as %+v", body, v, w)
		}
	})
}

// checkRefusal fails unless err is what a client should get for bad input: invalid, 400, a
// message in Chinese without Go's error text, and a field of the body if any.
func checkRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	e := errs.As(err)
	if e.Kind != errs.KindInvalid {
		t.Fatalf("%q: %v, want invalid input", body, err)
	}
	if status := StatusFor(err); status != http.StatusBadRequest {
		t.Fatalf("%q: status %d for %v", body, status, err)
	}
	if !hasHan(e.Message) || strings.Contains(e.Message, "json:") || strings.Contains(e.Message, "Go value") {
		t.Fatalf("%q: message %q is not a plain Chinese message", body, e.Message)
	}
	if strings.Contains(e.Message, "  ") {
		t.Fatalf("%q: message %q leaves a blank", body, e.Message)
	}
	if top, _, _ := strings.Cut(e.Field, "."); e.Field != "" && !fuzzFields[top] && !strings.HasPrefix(e.Message, "不认识的字段") &&
		!strings.HasSuffix(e.Message, "出现了不止一次") {
		t.Fatalf("%q: field %q is not one of the body's", body, e.Field)
	}
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest("POST", "/api/v1/x", nil), err)
	var answer errorBody
	if json.Unmarshal(rec.Body.Bytes(), &answer) != nil || answer.Error.Code != errs.KindInvalid || answer.Error.Message != e.Message {
		t.Fatalf("%q: answered %d %s", body, rec.Code, rec.Body.Bytes())
	}
}

// FuzzPaging feeds arbitrary query strings to Paging and QueryID, which every list reads
// ?limit=, ?cursor= and id filters with. A refusal names the parameter; what is accepted is
// in range and is the number the query holds, and a next cursor as WriteList writes it reads
// back as the same id.
func FuzzPaging(f *testing.F) {
	for _, seed := range []string{
		"", "limit=50", "limit=500&cursor=123", "limit=0", "limit=501", "limit=-1", "limit=1e2", "limit=%2B5",
		"cursor=-1", "cursor=9223372036854775807", "cursor=9223372036854775808", "cursor=abc", "cursor=",
		"limit=10&limit=x", "org_id=5", "org_id=-5", "org_id=%00", "limit=%zz", "limit=５", "org_id=0x10", "limit= 5",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/api/v1/x", RawQuery: query}}
		q := r.URL.Query()
		limit, cursor, err := Paging(r)
		if err != nil {
			if e := errs.As(err); e.Kind != errs.KindInvalid || (e.Field != "limit" && e.Field != "cursor") || !hasHan(e.Message) {
				t.Fatalf("%q: %v, want invalid limit or cursor", query, err)
			}
		} else {
			if limit < 0 || limit > 500 || cursor < 0 {
				t.Fatalf("%q: limit %d, cursor %d", query, limit, cursor)
			}
			if s := q.Get("limit"); (s == "") != (limit == 0) || (s != "" && !sameNumber(s, int64(limit))) {
				t.Fatalf("%q: limit %d", query, limit)
			}
			if s := q.Get("cursor"); (s == "" && cursor != 0) || (s != "" && !sameNumber(s, cursor)) {
				t.Fatalf("%q: cursor %d", query, cursor)
			}
			if cursor > 0 {
				rec := httptest.NewRecorder()
				WriteList(rec, []int{}, cursor)
				var page ListBody[int]
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
					t.Fatal(err)
				}
				next := &http.Request{URL: &url.URL{RawQuery: url.Values{"cursor": {page.NextCursor}}.Encode()}}
				if _, back, err := Paging(next); err != nil || back != cursor {
					t.Fatalf("%q: next cursor %q reads back as %d, %v", query, page.NextCursor, back, err)
				}
			}
		}
		id, err := QueryID(r, "org_id")
		switch s := q.Get("org_id"); {
		case err != nil:
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Field != "org_id" || !hasHan(e.Message) {
				t.Fatalf("%q: %v, want invalid org_id", query, err)
			}
		case id < 0 || (s == "" && id != 0) || (s != "" && !sameNumber(s, id)):
			t.Fatalf("%q: org_id %d", query, id)
		}
	})
}

// sameNumber reports whether s is n written in decimal, with at most a sign and leading zeros
// more.
func sameNumber(s string, n int64) bool {
	m, err := strconv.ParseInt(s, 10, 64)
	return err == nil && m == n
}

// TestDecodeJSONRefusals pins the answers the fuzzer led to: an unknown field is named in
// Chinese and as the field, a body of the wrong JSON type says what it should be, and a body
// past 1 MB is refused as too large rather than as broken JSON.
func TestDecodeJSONRefusals(t *testing.T) {
	big := `{"name":"` + strings.Repeat("x", maxJSON) + `"}`
	padded := `{"name":"x"}` + strings.Repeat(" ", maxJSON)
	for _, c := range []struct{ body, field, message string }{
		{`{"extra":1}`, "extra", "不认识的字段“extra”"},
		{`{"nested":{"colour":"红"}}`, "colour", "不认识的字段“colour”"},
		{`[]`, "", "请求内容的类型不正确，应为一个 JSON 对象（{…}）"},
		{`{"id":1.5}`, "id", "字段 id 的类型不正确，应为整数（不带小数，且不超出范围）"},
		{`{"nested":{"value":"3"}}`, "nested.value", "字段 nested.value 的类型不正确，应为整数（不带小数，且不超出范围）"},
		{`{"active":"yes"}`, "active", "字段 active 的类型不正确，应为 true 或 false"},
		{big, "", "请求内容过大（上限 1 MB）"},
		{padded, "", "请求内容过大（上限 1 MB）"},
		{`{"id":1,"id":2}`, "id", "字段“id”出现了不止一次"},
		{`{"ID":1,"id":2}`, "id", "字段“id”出现了不止一次"},
		{`{"name":"x","nested":{"note":"a","value":1,"Note":"b"}}`, "Note", "字段“Note”出现了不止一次"},
		{`{"values":{"de":1,"De":2}}`, "De", "字段“De”出现了不止一次"},
	} {
		var v fuzzBody
		err := DecodeJSON(httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(c.body)), &v)
		e := errs.As(err)
		if e.Kind != errs.KindInvalid || e.Field != c.field || e.Message != c.message {
			t.Errorf("%.40q: %v; want %q at %q", c.body, err, c.message, c.field)
		}
	}
	var v fuzzBody
	if err := DecodeJSON(httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(`{"name":"x"}`+strings.Repeat(" ", maxJSON-20))), &v); err != nil {
		t.Errorf("a body just under 1 MB: %v", err)
	}
	// The same name in different objects, or as a value, is no repeat.
	if err := DecodeJSON(httptest.NewRequest("POST", "/api/v1/x", strings.NewReader(
		`{"name":"note","tags":["id","id"],"nested":{"note":"value","value":1},"values":{"note":1,"value":2}}`)), &v); err != nil {
		t.Errorf("names repeated across objects: %v", err)
	}
}
