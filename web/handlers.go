package web

import (
	"context"
	"net/http"

	"grassroots/auth"
)

// The adapters below are the shape most JSON routes share: read the {id} path value (one that
// is not a positive number is not found), decode the body strictly with DecodeJSON, run one use
// case and answer with its result as JSON. A use case has the services' own signature, so a
// service method that fits is passed as it is, e.g. ByID(orgs.GetOrg). The first error is the
// answer, as from any HandlerFunc; nothing has been written when it is returned. Routes that
// need more of the request — query filters, headers, uploads — write their handler out.

// Body answers a request whose JSON body decodes into In with the use case's result and status.
func Body[In, Out any](status int, run func(ctx context.Context, p *auth.Principal, in In) (Out, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		var in In
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
		out, err := run(r.Context(), p, in)
		return answer(w, status, out, err)
	}
}

// ByID answers a request on the {id} path value with the use case's result and 200.
func ByID[Out any](run func(ctx context.Context, p *auth.Principal, id int64) (Out, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		id, err := PathID(r, "id")
		if err != nil {
			return err
		}
		out, err := run(r.Context(), p, id)
		return answer(w, http.StatusOK, out, err)
	}
}

// BodyByID answers a request on the {id} path value whose JSON body decodes into In. The id is
// read first: a bad id is not found whatever the body.
func BodyByID[In, Out any](status int, run func(ctx context.Context, p *auth.Principal, id int64, in In) (Out, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		id, err := PathID(r, "id")
		if err != nil {
			return err
		}
		var in In
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
		out, err := run(r.Context(), p, id, in)
		return answer(w, status, out, err)
	}
}

// OptionalBodyByID is BodyByID answering 200 for a body that may be left out, such as a
// reason to give or not: a request without a body runs the use case with the zero In.
func OptionalBodyByID[In, Out any](run func(ctx context.Context, p *auth.Principal, id int64, in In) (Out, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		id, err := PathID(r, "id")
		if err != nil {
			return err
		}
		var in In
		if r.ContentLength != 0 {
			if err := DecodeJSON(r, &in); err != nil {
				return err
			}
		}
		out, err := run(r.Context(), p, id, in)
		return answer(w, http.StatusOK, out, err)
	}
}

// answer writes a use case's result as JSON with status, or returns its error unwritten.
func answer(w http.ResponseWriter, status int, out any, err error) error {
	if err != nil {
		return err
	}
	WriteJSON(w, status, out)
	return nil
}
