package passbook

import (
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

func (h *Handlers) apiPassbook(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	b, err := h.svc.GetPassbook(r.Context(), p, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (h *Handlers) apiOpen(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in OpenInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	b, err := h.svc.OpenPassbook(r.Context(), p, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, b)
	return nil
}

type stateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

func (h *Handlers) apiState(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var req stateRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	b, err := h.svc.SetPassbookState(r.Context(), p, id, req.State, req.Reason)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, b)
	return nil
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

func (h *Handlers) apiReverse(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	txID, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var req reverseRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	id, err := h.svc.Reverse(r.Context(), p, txID, req.Reason)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, map[string]int64{"reversal_tx_id": id})
	return nil
}
