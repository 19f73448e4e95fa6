package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

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
// 1 MB with a Chinese message naming the problem.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSON+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return tooLarge()
		case errors.As(err, &typ):
			return errs.Invalid(typ.Field, "字段 %s 的类型不正确", typ.Field)
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
			return errs.Invalid("", "请求内容不是合法的 JSON")
		case errors.Is(err, io.EOF):
			return errs.Invalid("", "请求内容为空")
		default:
			// Unknown fields come back as plain errors whose text names the field.
			return errs.Invalid("", "请求内容有误：%s", err.Error())
		}
	}
	if dec.More() {
		return errs.Invalid("", "请求内容只能包含一个 JSON 对象")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.Invalid("", "请求内容只能包含一个 JSON 对象")
	}
	return nil
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
