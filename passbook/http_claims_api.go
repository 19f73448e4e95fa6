package passbook

import (
	"context"
	"encoding/base64"
	"html/template"
	"mime"
	"net/http"
	"sort"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/web"
)

func (h *Handlers) apiItems(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	passbookID, err := web.QueryID(r, "passbook_id")
	if err != nil {
		return err
	}
	if passbookID != 0 {
		items, err := h.svc.ClaimableItems(r.Context(), p, passbookID)
		if err != nil {
			return err
		}
		web.WriteList(w, items, 0)
		return nil
	}
	f := ItemFilter{All: r.URL.Query().Get("all") == "1"}
	if f.Limit, f.Cursor, err = web.Paging(r); err != nil {
		return err
	}
	if f.OrgID, err = web.QueryID(r, "org_id"); err != nil {
		return err
	}
	items, next, err := h.svc.ListItems(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, items, next)
	return nil
}

func (h *Handlers) apiClaims(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := claimFilter(r)
	if err != nil {
		return err
	}
	list, next, err := h.svc.ListClaims(r.Context(), p, f)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

// apiClaimCreate files a claim sent as JSON, or as a multipart form when it carries photos. A
// replay of an Idempotency-Key with the same body answers 200 with the original claim.
func (h *Handlers) apiClaimCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in ClaimInput
	var photos []Photo
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		in, photos, err = claimFromForm(r)
	} else {
		in, err = decodeClaimJSON(r)
	}
	if err != nil {
		return err
	}
	c, created, err := h.svc.SubmitClaim(r.Context(), p, in, photos, IdempotencyKey(r.Header.Get("Idempotency-Key")))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	web.WriteJSON(w, status, c)
	return nil
}

// decodeClaimJSON is the JSON path of a claim: the body decoded strictly, then every check that
// needs no database.
func decodeClaimJSON(r *http.Request) (ClaimInput, error) {
	var in ClaimInput
	if err := web.DecodeJSON(r, &in); err != nil {
		return in, err
	}
	return in, in.Check()
}

// reasonRequest is the body of a state change that may carry a reason, and may be left out where
// the reason is optional.
type reasonRequest struct {
	Reason string `json:"reason"`
}

// withReason takes the reason of a state change on {id} from its body.
func withReason[Out any](run func(ctx context.Context, p *auth.Principal, id int64, reason string) (Out, error)) func(context.Context, *auth.Principal, int64, reasonRequest) (Out, error) {
	return func(ctx context.Context, p *auth.Principal, id int64, req reasonRequest) (Out, error) {
		return run(ctx, p, id, req.Reason)
	}
}

// apiCancel withdraws a claim; a reason sent along is accepted and not kept.
func (h *Handlers) apiCancel(ctx context.Context, p *auth.Principal, id int64, _ reasonRequest) (Claim, error) {
	return h.svc.Cancel(ctx, p, id)
}

func (h *Handlers) apiPublicity(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	limit, cursor, err := web.Paging(r)
	if err != nil {
		return err
	}
	orgID, err := web.QueryID(r, "org_id")
	if err != nil {
		return err
	}
	list, next, err := h.svc.Publicity(r.Context(), p, orgID, limit, cursor)
	if err != nil {
		return err
	}
	web.WriteList(w, list, next)
	return nil
}

// batchRefusal is the answer to a batch with bad rows: the usual error and every bad row.
type batchRefusal struct {
	Error struct {
		Code    errs.Kind `json:"code"`
		Message string    `json:"message"`
		Field   string    `json:"field,omitempty"`
	} `json:"error"`
	Problems []batchProblem `json:"problems"`
}

func (h *Handlers) apiBatch(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	res, err := h.batchUpload(r, p)
	switch {
	case err != nil && len(res.Problems) == 0:
		return err
	case err != nil:
		var body batchRefusal
		e := errs.As(err)
		body.Error.Code, body.Error.Message, body.Error.Field = e.Kind, e.Message, e.Field
		body.Problems = sortedProblems(res.Problems)
		web.WriteJSON(w, http.StatusBadRequest, body)
		return nil
	}
	web.WriteJSON(w, http.StatusCreated, res)
	return nil
}

// sortedProblems lists a batch's bad rows in sheet order.
func sortedProblems(problems map[int]string) []batchProblem {
	out := make([]batchProblem, 0, len(problems))
	for row, msg := range problems {
		out = append(out, batchProblem{Row: row, Message: msg})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Row < out[j].Row })
	return out
}

// reportURL embeds a batch's error report in the page as a download link; a report is a copy
// of the upload, well within what a data: URL carries, and needs no server-side store.
func reportURL(report []byte) template.URL {
	if len(report) == 0 {
		return ""
	}
	return template.URL("data:" + xlsxType + ";base64," + base64.StdEncoding.EncodeToString(report))
}
