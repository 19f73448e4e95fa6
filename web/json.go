package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"grassroots/errs"
)

// maxJSON bounds a JSON request body; nothing the API takes comes near it.
const maxJSON = 1 << 20

// WriteJSON writes v as the JSON answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads a JSON body into v, refusing unknown fields, trailing data and bodies over
// 1 MB with a Chinese message naming the problem and, where there is one, the field.
func DecodeJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxJSON+1))
	if len(data) > maxJSON {
		return errs.Invalid("", "请求内容过大（上限 1 MB）")
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				err = trailing()
			} else if key, dup := duplicateKey(data); dup {
				err = errs.Invalid(key, "字段“%s”出现了不止一次", clip(key, 40))
			}
		}
	}
	if err == nil || errs.Is(err, errs.KindInvalid) {
		return err
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return e // a type's own UnmarshalJSON refused the value
	case errors.As(err, &mbe):
		return tooLarge()
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errs.Invalid("", "请求内容的类型不正确，应为%s", jsonKind(typ.Type))
		}
		return errs.Invalid(typ.Field, "字段 %s 的类型不正确，应为%s", typ.Field, jsonKind(typ.Type))
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid("", "请求内容不是合法的 JSON")
	case errors.Is(err, io.EOF):
		return errs.Invalid("", "请求内容为空")
	}
	// DisallowUnknownFields reports an unknown field only in the error's text.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, uerr := strconv.Unquote(name); uerr == nil {
			return errs.Invalid(name, "不认识的字段“%s”", clip(name, 40))
		}
	}
	// A type's own UnmarshalJSON (such as a dimension read by its Chinese name) refused the
	// value with a message for the user; anything else is not shown as it is.
	if msg := err.Error(); hasHan(msg) && !strings.Contains(msg, "json:") {
		return errs.Invalid("", "请求内容有误：%s", msg)
	}
	return errs.Invalid("", "请求内容有误")
}

// duplicateKey finds a key given twice in one object of well-formed JSON, comparing names as
// the decoder matches them to fields (case-insensitively). The decoder would keep the last one
// silently: {"points":1,"Points":5} is a client's mistake, not a choice to make for it.
func duplicateKey(data []byte) (string, bool) {
	type object struct {
		keys    map[string]bool
		wantKey bool
	}
	var open []*object // nil entries are arrays
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		var top *object
		if len(open) > 0 {
			top = open[len(open)-1]
		}
		if key, ok := tok.(string); ok && top != nil && top.wantKey {
			folded := strings.ToLower(key)
			if top.keys[folded] {
				return key, true
			}
			top.keys[folded], top.wantKey = true, false
			continue
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			open = open[:len(open)-1]
		default:
			if top != nil {
				top.wantKey = true // a value, simple or compound, ends a member
			}
			switch tok {
			case json.Delim('{'):
				open = append(open, &object{keys: map[string]bool{}, wantKey: true})
			case json.Delim('['):
				open = append(open, nil)
			}
		}
		if len(open) == 0 {
			return "", false
		}
	}
}

// trailing refuses a body with more after its JSON value.
func trailing() error { return errs.Invalid("", "请求内容只能包含一个 JSON 对象") }

// jsonKind says in Chinese what JSON a Go type is read from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "正确的类型"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "整数（不带小数，且不超出范围）"
	case reflect.Float32, reflect.Float64:
		return "数字"
	case reflect.String:
		return "文本（用双引号括起）"
	case reflect.Bool:
		return " true 或 false"
	case reflect.Slice, reflect.Array:
		return "列表（[…]）"
	case reflect.Struct, reflect.Map:
		return "一个 JSON 对象（{…}）"
	}
	return "正确的类型"
}

// hasHan reports whether s holds a Chinese character.
func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// clip shortens s to n runes for a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// ListBody is the shape of every list answer.
type ListBody[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// WriteList answers a list page; an id cursor of 0 means there is no next page.
func WriteList[T any](w http.ResponseWriter, items []T, next int64) {
	if items == nil {
		items = []T{}
	}
	body := ListBody[T]{Items: items}
	if next != 0 {
		body.NextCursor = strconv.FormatInt(next, 10)
	}
	WriteJSON(w, http.StatusOK, body)
}

// Paging reads ?limit= and ?cursor= (an id), refusing values that are not numbers.
func Paging(r *http.Request) (limit int, cursor int64, err error) {
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return 0, 0, errs.Invalid("limit", "limit 应为 1 到 500 之间的整数")
		}
		limit = n
	}
	if s := r.URL.Query().Get("cursor"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, errs.Invalid("cursor", "cursor 无效")
		}
		cursor = n
	}
	return limit, cursor, nil
}

// PathID reads a numeric path value such as {id}.
func PathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.NotFound("记录不存在")
	}
	return n, nil
}

// QueryID reads an optional numeric query parameter; absent is 0.
func QueryID(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.Invalid(name, "%s 应为数字编号", name)
	}
	return n, nil
}
