package web

import (
	"net/http"

	"grassroots/auth"
	"grassroots/org"
)

func (s *Server) registerHome() {
	s.Menu(NavItem{Key: "home", Label: "首页", Href: "/", Order: 0})
	s.Page("GET /{$}", "", s.homePage)
	s.API("GET /api/v1/stats", auth.PeopleView, s.apiStats)
}

type homeView struct {
	Name       string // the person the account belongs to, else the account
	Stats      org.Stats
	HasStats   bool
	Orgs       int
	Categories chartOption
	Kinds      chartOption
}

// chartOption is an ECharts option, rendered into a JSON script element for app.js.
type chartOption map[string]any

// barChart is a horizontal bar chart of the non-zero counts: long Chinese labels read well on
// the vertical axis, also on a phone.
func barChart(title string, counts []org.Count) chartOption {
	var labels []string
	var values []int
	for i := len(counts) - 1; i >= 0; i-- { // ECharts draws the first category at the bottom
		if counts[i].Count > 0 {
			labels, values = append(labels, counts[i].Label), append(values, counts[i].Count)
		}
	}
	return chartOption{
		"title":   map[string]any{"text": title, "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"tooltip": map[string]any{},
		"grid":    map[string]any{"left": 8, "right": 40, "bottom": 8, "top": 36, "containLabel": true},
		"xAxis":   map[string]any{"type": "value", "minInterval": 1},
		"yAxis":   map[string]any{"type": "category", "data": labels},
		"series":  []any{map[string]any{"type": "bar", "data": values, "itemStyle": map[string]any{"color": "#b71c1c"}, "label": map[string]any{"show": true, "position": "right"}}},
	}
}

// homePage is the first thing a secretary sees: how many people and Party members are in their
// charge, by category, and the organisations by kind.
func (s *Server) homePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := View{Title: "首页", Active: "home"}
	data := homeView{Name: p.Username}
	if p.PersonID != 0 {
		if pe, err := s.cfg.Org.GetPerson(r.Context(), p, p.PersonID); err == nil {
			data.Name = pe.Name
		}
	}
	// Members see only themselves; the figures are for those in charge of organisations.
	if sc := p.Scope(auth.PeopleView); sc.All || len(sc.Paths) > 0 {
		st, err := s.cfg.Org.Stats(r.Context(), p, 0)
		if err != nil {
			return err
		}
		data.Stats, data.HasStats = st, true
		for _, c := range st.OrgsByKind {
			data.Orgs += c.Count
		}
		data.Categories = barChart("人员类别", st.ByCategory)
		data.Kinds = barChart("组织类型", st.OrgsByKind)
	}
	v.Data = data
	return s.Render(w, r, http.StatusOK, s.layout, "home", v)
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	orgID, err := QueryID(r, "org_id")
	if err != nil {
		return err
	}
	st, err := s.cfg.Org.Stats(r.Context(), p, orgID)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, st)
	return nil
}
