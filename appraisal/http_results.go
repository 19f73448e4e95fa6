package appraisal

import (
	"bytes"
	"context"
	"encoding/base64"
	"html/template"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/store"
	"grassroots/web"
)

// Results in use: a person's year, a unit's year with charts, the export for promotion review,
// and the imports of rosters and target task lists.
func (h *Handlers) registerResults() {
	s := h.srv
	web.LabelActions(map[string]string{
		"appraisal.results_export": "导出平时考核结果", "appraisal.roster_import": "导入考核对象名单", "appraisal.tasks_import": "导入目标任务清单",
	})
	s.Page("GET /appraisal/people/{id}", PermSelf, h.historyPage)
	s.Page("GET /appraisal/units/{id}", PermView, h.unitPage)
	s.Page("GET /appraisal/units/{id}/results.xlsx", PermView, h.resultsXLSX)
	s.Page("GET /appraisal/cycles/{id}/import", PermManage, h.importPage)
	s.Page("GET /appraisal/cycles/{id}/roster.xlsx", PermManage, h.rosterXLSX)
	s.Page("GET /appraisal/cycles/{id}/tasks.xlsx", PermManage, h.taskTemplateXLSX)
	s.Page("POST /appraisal/cycles/{id}/import/roster", PermManage, h.rosterSubmit)
	s.Page("POST /appraisal/cycles/{id}/import/tasks", PermManage, h.tasksImportSubmit)

	s.API("GET /api/v1/appraisal/people/{id}/history", PermSelf, h.apiHistory)
	s.API("GET /api/v1/appraisal/units/{id}/year", PermView, h.apiUnitYear)
	s.API("GET /api/v1/appraisal/units/{id}/results.xlsx", PermView, h.resultsXLSX)
	s.API("POST /api/v1/appraisal/cycles/{id}/roster", PermManage, h.apiImport(h.svc.ImportRoster))
	s.API("POST /api/v1/appraisal/cycles/{id}/tasks/import", PermManage, h.apiImport(h.svc.ImportTasks))
	s.Document(apiDocs, "openapi/results_use.json")
}

// year reads ?year=, the current year in Shanghai by default.
func (h *Handlers) year(r *http.Request) (int, error) {
	s := strings.TrimSpace(r.URL.Query().Get("year"))
	if s == "" {
		return h.srv.DB().Now().In(store.Shanghai).Year(), nil
	}
	y, err := strconv.Atoi(s)
	if err != nil {
		return 0, errs.Invalid("year", "年份应为四位数字，如 2026")
	}
	return y, nil
}

func (h *Handlers) apiHistory(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	year, err := h.year(r)
	if err != nil {
		return err
	}
	out, err := h.svc.History(r.Context(), p, id, year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handlers) apiUnitYear(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	year, err := h.year(r)
	if err != nil {
		return err
	}
	out, err := h.svc.UnitYear(r.Context(), p, id, year)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

type historyView struct {
	History
	Years []int
}

func (h *Handlers) historyPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	year, err := h.year(r)
	if err != nil {
		return err
	}
	out, err := h.svc.History(r.Context(), p, id, year)
	if err != nil {
		return err
	}
	v := web.View{Title: out.Name + " · " + strconv.Itoa(year) + "年平时考核", Active: "appraisal", Data: historyView{History: out, Years: h.years()}}
	return h.srv.Render(w, r, http.StatusOK, h.t, "history", v)
}

// years are the years a page offers: this one and the four before it.
func (h *Handlers) years() []int {
	now := h.srv.DB().Now().In(store.Shanghai).Year()
	return []int{now, now - 1, now - 2, now - 3, now - 4}
}

// chartOption is an ECharts option, rendered into a JSON script element that app.js draws.
type chartOption map[string]any

// gradeColours are the grades' colours, best first.
var gradeColours = []string{"#b71c1c", "#ef6c00", "#f9a825", "#757575"}

// Chart is the pool's grade distribution by quarter, stacked.
func (py PoolYear) Chart() chartOption {
	var series []any
	for i, g := range Grades() {
		data := make([]any, 4) // null where none: no empty segment, no "0" label
		for q := range 4 {
			if n := py.Counts[q][i]; n > 0 {
				data[q] = n
			}
		}
		series = append(series, map[string]any{"name": string(g), "type": "bar", "stack": "grades", "data": data,
			"label": map[string]any{"show": true, "formatter": "{c}"}})
	}
	return chartOption{
		"color":   gradeColours,
		"title":   map[string]any{"text": py.Label + "等次分布", "left": "center", "textStyle": map[string]any{"fontSize": 14}},
		"tooltip": map[string]any{"trigger": "axis"},
		"legend":  map[string]any{"bottom": 0},
		"grid":    map[string]any{"left": 40, "right": 16, "bottom": 48, "top": 40},
		"xAxis":   map[string]any{"type": "category", "data": []string{"第一季度", "第二季度", "第三季度", "第四季度"}},
		"yAxis":   map[string]any{"type": "value", "minInterval": 1, "name": "人数"},
		"series":  series,
	}
}

// Quarters are the quarter numbers 1–4, for templates.
func (UnitYear) Quarters() []int { return []int{1, 2, 3, 4} }

type unitView struct {
	UnitYear
	Years []int
}

func (h *Handlers) unitPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	year, err := h.year(r)
	if err != nil {
		return err
	}
	out, err := h.svc.UnitYear(r.Context(), p, id, year)
	if err != nil {
		return err
	}
	v := web.View{Title: out.OrgName + " · " + strconv.Itoa(year) + "年平时考核结果", Active: "appraisal", Data: unitView{UnitYear: out, Years: h.years()}}
	return h.srv.Render(w, r, http.StatusOK, h.t, "unit", v)
}

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func sendXLSX(w http.ResponseWriter, name string, data []byte) error {
	hd := w.Header()
	hd.Set("Content-Type", xlsxType)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	hd.Set("Cache-Control", "no-store")
	_, err := w.Write(data)
	return err
}

func (h *Handlers) resultsXLSX(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	year, err := h.year(r)
	if err != nil {
		return err
	}
	file, y, err := h.svc.ExportResults(r.Context(), p, id, year)
	if err != nil {
		return err
	}
	return sendXLSX(w, "平时考核结果-"+y.OrgName+"-"+strconv.Itoa(year)+"年.xlsx", file)
}

func (h *Handlers) rosterXLSX(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.template(w, r, p, "考核对象名单.xlsx", h.svc.WriteRoster)
}

func (h *Handlers) taskTemplateXLSX(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.template(w, r, p, "目标任务清单模板.xlsx", h.svc.WriteTaskTemplate)
}

func (h *Handlers) template(w http.ResponseWriter, r *http.Request, p *auth.Principal, name string,
	write func(ctx context.Context, p *auth.Principal, cycleID int64, w io.Writer) error) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := write(r.Context(), p, id, &buf); err != nil {
		return err
	}
	return sendXLSX(w, name, buf.Bytes())
}

type importView struct {
	Cycle    Cycle
	Kind     string // the import that was refused: roster or tasks
	Problems []rowProblem
	Report   template.URL
}

type rowProblem struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

func problemList(problems map[int]string) []rowProblem {
	out := make([]rowProblem, 0, len(problems))
	for row, msg := range problems {
		out = append(out, rowProblem{Row: row, Message: msg})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Row < out[j].Row })
	return out
}

// reportURL embeds an import's error report in the page as a data: URL to download.
func reportURL(report []byte) template.URL {
	if len(report) == 0 {
		return ""
	}
	return template.URL("data:" + xlsxType + ";base64," + base64.StdEncoding.EncodeToString(report))
}

func (h *Handlers) importPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.renderImport(w, r, p, http.StatusOK, web.View{}, importView{})
}

func (h *Handlers) renderImport(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, v web.View, data importView) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := loadCycle(r.Context(), h.srv.DB(), p, PermManage, id); err != nil {
		return err
	}
	if data.Cycle, err = h.svc.GetCycle(r.Context(), p, id); err != nil {
		return err
	}
	v.Title, v.Active, v.Data = data.Cycle.OrgName+" · "+data.Cycle.QuarterLabel+" · Excel 导入", "appraisal", data
	return h.srv.Render(w, r, status, h.t, "import", v)
}

// upload runs an import on the "file" part of a multipart form.
func upload(r *http.Request, run func(ctx context.Context, p *auth.Principal, cycleID int64, r io.Reader) (ImportResult, error), p *auth.Principal, id int64) (ImportResult, error) {
	f, _, err := r.FormFile("file")
	if err != nil {
		return ImportResult{}, errs.Invalid("file", "请选择要上传的 Excel 文件")
	}
	defer f.Close()
	return run(r.Context(), p, id, f)
}

func (h *Handlers) rosterSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.importSubmit(w, r, p, "roster", h.svc.ImportRoster)
}

func (h *Handlers) tasksImportSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return h.importSubmit(w, r, p, "tasks", h.svc.ImportTasks)
}

func (h *Handlers) importSubmit(w http.ResponseWriter, r *http.Request, p *auth.Principal, kind string,
	run func(ctx context.Context, p *auth.Principal, cycleID int64, r io.Reader) (ImportResult, error)) error {
	id, err := web.PathID(r, "id")
	if err != nil {
		return err
	}
	res, err := upload(r, run, p, id)
	if err != nil {
		return web.FormFailed(r, err, func(status int, v web.View) error {
			return h.renderImport(w, r, p, status, v, importView{Kind: kind, Problems: problemList(res.Problems), Report: reportURL(res.Report)})
		})
	}
	if kind == "roster" {
		msg := "已导入考核对象名单：设定 " + strconv.Itoa(res.Imported) + " 人"
		if res.Removed > 0 {
			msg += "，移出 " + strconv.Itoa(res.Removed) + " 人"
		}
		return web.Redirect(w, r, cyclePath(id), msg)
	}
	return web.Redirect(w, r, cyclePath(id)+"/tasks", "已导入 "+strconv.Itoa(res.Imported)+" 项目标任务")
}

// apiImport answers an import: 200 with the counts, or 400 with the error and the rows'
// problems.
func (h *Handlers) apiImport(run func(ctx context.Context, p *auth.Principal, cycleID int64, r io.Reader) (ImportResult, error)) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		id, err := web.PathID(r, "id")
		if err != nil {
			return err
		}
		res, err := upload(r, run, p, id)
		if err != nil && len(res.Problems) > 0 {
			e := errs.As(err)
			web.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": e.Kind, "message": e.Message, "field": e.Field},
				"problems": problemList(res.Problems)})
			return nil
		}
		if err != nil {
			return err
		}
		web.WriteJSON(w, http.StatusOK, res)
		return nil
	}
}
