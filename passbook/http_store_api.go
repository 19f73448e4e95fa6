package passbook

import (
	"net/http"

	"grassroots/auth"
	"grassroots/web"
)

func (h *Handlers) apiRewards(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := RewardFilter{Query: q.Get("q"), Archived: q.Get("archived") == "true"}
	var err error
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	if f.PassbookID, err = web.QueryID(r, "passbook_id"); err != nil {
		return err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return err
	}
	list, next, err := h.svc.ListRewards(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

func (h *Handlers) apiReward(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	rw, err := h.svc.GetReward(r.Context(), p, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rw)
	return nil
}

func (h *Handlers) apiCreateReward(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in RewardInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	rw, err := h.svc.CreateReward(r.Context(), p, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, rw)
	return nil
}

func (h *Handlers) apiUpdateReward(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var in RewardChange
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	rw, err := h.svc.UpdateReward(r.Context(), p, id, in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rw)
	return nil
}

type stockRequest struct {
	Delta  int64  `json:"delta"`
	Reason string `json:"reason"`
}

func (h *Handlers) apiAdjustStock(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var req stockRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	rw, err := h.svc.AdjustStock(r.Context(), p, id, req.Delta, req.Reason)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, rw)
	return nil
}

func (h *Handlers) apiOrders(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := orderFilterFrom(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListOrders(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

func (h *Handlers) apiOrder(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	o, err := h.svc.GetOrder(r.Context(), p, id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, o)
	return nil
}

// apiPlaceOrder answers a replay of the same Idempotency-Key and body with the original order,
// as created, so that a client that lost the first answer cannot tell the difference.
func (h *Handlers) apiPlaceOrder(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in OrderInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return err
	}
	o, err := h.svc.PlaceOrder(r.Context(), p, IdempotencyKey(r.Header.Get("Idempotency-Key")), in)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, o)
	return nil
}

type pickupRequest struct {
	Code string `json:"code"`
}

func (h *Handlers) apiFulfilOrder(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var req pickupRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	o, err := h.svc.FulfilOrder(r.Context(), p, id, req.Code)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (h *Handlers) apiPickupOrder(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req pickupRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	o, err := h.svc.PickupByCode(r.Context(), p, req.Code)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, o)
	return nil
}

type cancelOrderRequest struct {
	Reason string `json:"reason"`
}

// apiCancelOrder takes an optional body: a member cancelling from a phone has no reason to give.
func (h *Handlers) apiCancelOrder(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var req cancelOrderRequest
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(r, &req); err != nil {
			return err
		}
	}
	o, err := h.svc.CancelOrder(r.Context(), p, id, req.Reason)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, o)
	return nil
}
