package web

import (
	"context"
	"net/http"

	"grassroots/auth"
)

// registerTokens adds the API tokens every signed-in user keeps for their own integrations.
// Their OpenAPI description is in users.json, with the accounts they belong to.
func (s *Server) registerTokens() {
	s.Page("GET /tokens", "", s.tokensPage)
	s.Page("POST /tokens", "", s.tokenCreate)
	s.Page("POST /tokens/{id}/revoke", "", s.tokenRevoke)

	s.API("GET /api/v1/tokens", "", s.apiTokens)
	s.API("POST /api/v1/tokens", "", Body(http.StatusCreated, s.apiTokenCreate))
	s.API("DELETE /api/v1/tokens/{id}", "", s.apiTokenRevoke)
}

type tokensView struct {
	Tokens []auth.APIToken
	Secret string // a token created by this request, shown this once
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return s.renderTokens(w, r, p, http.StatusOK, View{}, "")
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v View, secret string) error {
	tokens, err := s.cfg.Auth.ListTokens(r.Context(), p)
	if err != nil {
		return err
	}
	v.Title, v.Data = "API 令牌", tokensView{Tokens: tokens, Secret: secret}
	return s.Render(w, r, status, s.layout, "tokens", v)
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	secret, t, err := s.cfg.Auth.CreateToken(r.Context(), p, r.PostFormValue("name"))
	if err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderTokens(w, r, p, status, v, "") })
	}
	return s.renderTokens(w, r, p, http.StatusOK, View{Flash: "已创建令牌：" + t.Name}, secret)
}

// tokenRevoke serves the owner's token page and an administrator on an account's page; next
// says which to go back to.
func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Auth.RevokeToken(r.Context(), p, id); err != nil {
		return FormFailed(r, err, func(status int, v View) error { return s.renderTokens(w, r, p, status, v, "") })
	}
	next := r.PostFormValue("next")
	if next == "" {
		next = "/tokens"
	}
	return Redirect(w, r, safeNext(next), "已吊销令牌")
}

// API

type tokenRequest struct {
	Name string `json:"name"`
}

// createdToken is a new token with its secret, which is never shown again.
type createdToken struct {
	auth.APIToken
	Token string `json:"token"`
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	tokens, err := s.cfg.Auth.ListTokens(r.Context(), p)
	if err != nil {
		return err
	}
	WriteList(w, tokens, 0)
	return nil
}

func (s *Server) apiTokenCreate(ctx context.Context, p *auth.Principal, req tokenRequest) (createdToken, error) {
	secret, t, err := s.cfg.Auth.CreateToken(ctx, p, req.Name)
	return createdToken{APIToken: t, Token: secret}, err
}

func (s *Server) apiTokenRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := PathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.cfg.Auth.RevokeToken(r.Context(), p, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
