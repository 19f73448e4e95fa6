package passbook

import (
	"context"
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

type stockRequest struct {
	Delta  int64  `json:"delta"`
	Reason string `json:"reason"`
}

func (h *Handlers) apiAdjustStock(ctx context.Context, p *auth.Principal, id int64, req stockRequest) (Reward, error) {
	return h.svc.AdjustStock(ctx, p, id, req.Delta, req.Reason)
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

func (h *Handlers) apiFulfilOrder(ctx context.Context, p *auth.Principal, id int64, req pickupRequest) (Order, error) {
	return h.svc.FulfilOrder(ctx, p, id, req.Code)
}

func (h *Handlers) apiPickupOrder(ctx context.Context, p *auth.Principal, req pickupRequest) (Order, error) {
	return h.svc.PickupByCode(ctx, p, req.Code)
}
