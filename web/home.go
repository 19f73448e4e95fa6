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
	Stats      org.Stats
	HasStats   bool
	Orgs       int
	Categories chartOption
	Kinds      chartOption
}

// chartOption is an ECharts option, rendered into a JSON script element for app.js.
type chartOption map[string]any

func barChart(title string, counts []org.Count) chartOption {
	labels := make([]string, len(counts))
	values := make([]int, len(counts))
	for i, c := range counts {
		labels[i], values[i] = c.Label, c.Count
	}
	return chartOption{
		"title":   map[string]any{"text": title, "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"tooltip": map[string]any{},
		"grid":    map[string]any{"left": 40, "right": 16, "bottom": 60, "top": 40},
		"xAxis":   map[string]any{"type": "category", "data": labels, "axisLabel": map[string]any{"interval": 0, "rotate": 30}},
		"yAxis":   map[string]any{"type": "value", "minInterval": 1},
		"series":  []any{map[string]any{"type": "bar", "data": values, "itemStyle": map[string]any{"color": "#b71c1c"}, "label": map[string]any{"show": true, "position": "top"}}},
	}
}

// homePage is the first thing a secretary sees: how many people and Party members are in their
// charge, by category, and the organisations by kind.
func (s *Server) homePage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v := View{Title: "首页", Active: "home"}
	data := homeView{}
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
