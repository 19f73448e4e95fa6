package passbook

import (
	"context"
	"net/http"
	"time"

	"grassroots/auth"
	"grassroots/web"
)

func (h *Handlers) apiActivities(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := activityFilter(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListActivities(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

// apiSignUp answers 201 with a new signup, 200 with the one the caller already had.
func (h *Handlers) apiSignUp(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	s, created, err := h.svc.SignUp(r.Context(), p, id)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	web.WriteJSON(w, status, s)
	return nil
}

func (h *Handlers) apiSignUpCancel(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.svc.CancelSignUp(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiQR answers the code for a screen other than the organiser page, as a PNG of the scan link.
func (h *Handlers) apiQR(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	code, err := h.svc.QRToken(r.Context(), p, id, r.URL.Query().Get("kind"))
	if err != nil {
		return err
	}
	png, err := qrPNG(scanLink(r, id, code.Token))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Code-Expires-At", code.ExpiresAt.Format(time.RFC3339))
	_, err = w.Write(png)
	return err
}

type scanRequest struct {
	Token string `json:"token"`
}

func (h *Handlers) apiScan(ctx context.Context, p *auth.Principal, req scanRequest) (ScanResult, error) {
	return h.svc.Scan(ctx, p, req.Token, 0)
}
