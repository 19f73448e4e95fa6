package passbook

import (
	"context"
	"net/http"

	"grassroots/auth"
	"grassroots/web"
)

func (h *Handlers) apiPassbooks(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := PassbookFilter{State: q.Get("state"), Query: q.Get("q")}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return err
	}
	list, next, err := h.svc.ListPassbooks(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

type stateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

func (h *Handlers) apiState(ctx context.Context, p *auth.Principal, id int64, req stateRequest) (Passbook, error) {
	return h.svc.SetPassbookState(ctx, p, id, req.State, req.Reason)
}

func (h *Handlers) apiEntries(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	limit, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	lines, next, err := h.svc.Statement(r.Context(), p, id, cursor, limit)
	if err != nil {
		return err
	}
	web.WriteList(w, lines, next)
	return nil
}

func (h *Handlers) apiSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	set, err := h.svc.GetSettings(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, set)
	return nil
}

func (h *Handlers) apiSetSettings(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	var in Settings
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	set, err := h.svc.SetSettings(r.Context(), p, orgID, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, set)
	return nil
}

type reverseRequest struct {
	Reason string `json:"reason"`
}

func (h *Handlers) apiReverse(ctx context.Context, p *auth.Principal, txID int64, req reverseRequest) (map[string]int64, error) {
	id, err := h.svc.Reverse(ctx, p, txID, req.Reason)
	return map[string]int64{"reversal_tx_id": id}, err
}
