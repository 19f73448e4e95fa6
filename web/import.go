package web

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"grassroots/auth"
	"grassroots/errs"
	"grassroots/org"
	"grassroots/store"
	"grassroots/xlsx"
)

// Limits of the people import and its error reports.
const (
	importMaxBytes = 20 << 20 // the upload; MaxUpload leaves room for the multipart envelope
	shownProblems  = 200      // rows listed on the result page; the report has them all
	reportTTL      = 30 * time.Minute
	maxReports     = 32       // kept at once, across all users …
	maxReportBytes = 64 << 20 // … and their total size, so reports cannot eat the server's memory
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// importRoom is the people import and export: its pages, API and the error reports waiting to
// be downloaded.
type importRoom struct {
	s       *Server
	reports *reportStore
}

func (s *Server) registerImport() {
	im := &importRoom{s: s, reports: &reportStore{now: func() time.Time { return s.cfg.DB.Now() }}}
	s.Page("GET /people/import", auth.PeopleImport, im.page)
	s.Page("GET /people/import/template.xlsx", auth.PeopleImport, im.template)
	s.Page("POST /people/import", auth.PeopleImport, im.upload)
	// {file} is KEY.xlsx: a wildcard must be a whole path segment.
	s.Page("GET /people/import/report/{file}", auth.PeopleImport, im.report)
	s.Page("GET /people/export.xlsx", auth.PeopleExport, im.export)

	s.API("POST /api/v1/people/import", auth.PeopleImport, im.apiUpload)
	s.API("GET /api/v1/people/export", auth.PeopleExport, im.export)
	s.API("GET /api/v1/people/template", auth.PeopleImport, im.template)
	s.Document(apiDocs, "openapi/import.json")
}

type importView struct {
	Columns   []xlsx.Column
	MaxMB     int
	Imported  int
	Problems  []rowProblem // the first shownProblems rows
	Total     int          // rows with problems
	ReportURL string
}

// rowProblem is one bad row, on the result page and in the API's error body.
type rowProblem struct {
	Row     int    `json:"row"`
	Message string `json:"message"`
}

func (im *importRoom) view() View {
	return View{Title: "导入人员", Active: "people",
		Data: importView{Columns: org.PeopleColumns(), MaxMB: importMaxBytes >> 20}}
}

func (im *importRoom) page(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	return im.s.Render(w, r, http.StatusOK, im.s.layout, "people_import", im.view())
}

func (im *importRoom) template(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var buf bytes.Buffer
	if err := im.s.cfg.Org.WritePeopleTemplate(&buf); err != nil {
		return err
	}
	download(w, "人员导入模板.xlsx", "people-template.xlsx")
	_, err := buf.WriteTo(w)
	return err
}

// upload imports the posted file and shows the outcome on the import page: the count, or the
// bad rows with a link to the error report.
func (im *importRoom) upload(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	res, err := im.run(r, p)
	v := im.view()
	data := v.Data.(importView)
	status := http.StatusOK
	switch {
	case err == nil:
		data.Imported = res.Imported
	case len(res.Problems) > 0:
		all := problemList(res.Problems)
		data.Total, data.Problems = len(all), all[:min(len(all), shownProblems)]
		data.ReportURL = im.keep(p, res.Report)
		v.Error, status = errs.As(err).Message, StatusFor(err)
	default:
		if !FormErrors(&v, err) {
			return err
		}
		status = StatusFor(err)
	}
	v.Data = data
	return im.s.Render(w, r, status, im.s.layout, "people_import", v)
}

// importErrorBody is the API's answer to an import with bad rows: the documented error shape
// with every bad row and the error report's address beside it.
type importErrorBody struct {
	Error     errorDetail  `json:"error"`
	Problems  []rowProblem `json:"problems"`
	ReportURL string       `json:"report_url,omitempty"`
}

func (im *importRoom) apiUpload(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	res, err := im.run(r, p)
	switch {
	case err == nil:
		WriteJSON(w, http.StatusOK, map[string]int{"imported": res.Imported})
		return nil
	case len(res.Problems) == 0:
		return err
	}
	e, status := classify(err)
	WriteJSON(w, status, importErrorBody{
		Error:    errorDetail{Code: e.Kind, Message: e.Message, Field: e.Field},
		Problems: problemList(res.Problems), ReportURL: im.keep(p, res.Report),
	})
	return nil
}

// run streams the multipart field "file" into the import.
func (im *importRoom) run(r *http.Request, p *auth.Principal) (org.ImportResult, error) {
	file, err := uploadedFile(r)
	if err != nil {
		return org.ImportResult{}, err
	}
	return im.s.cfg.Org.ImportPeople(r.Context(), p, file, org.ImportOptions{MaxBytes: importMaxBytes})
}

// uploadedFile finds the part named "file" of a multipart body and returns it unread, so the
// upload streams into the import instead of into a temporary file.
func uploadedFile(r *http.Request) (io.Reader, error) {
	missing := errs.Invalid(xlsx.Field, "请选择要导入的 Excel 文件")
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, missing
	}
	for {
		part, err := mr.NextPart()
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return nil, missing
		case errors.As(err, &mbe):
			return nil, err
		case err != nil:
			return nil, errs.Invalid(xlsx.Field, "上传内容不完整，请重新上传")
		case part.FormName() == "file" && part.FileName() == "":
			return nil, missing
		case part.FormName() == "file":
			return part, nil
		}
	}
}

// problemList orders bad rows by row number.
func problemList(problems map[int]string) []rowProblem {
	out := make([]rowProblem, 0, len(problems))
	for _, n := range slices.Sorted(maps.Keys(problems)) {
		out = append(out, rowProblem{Row: n, Message: problems[n]})
	}
	return out
}

// keep stores an error report for its uploader and returns its address, or "" when the
// report is too large to keep.
func (im *importRoom) keep(p *auth.Principal, report []byte) string {
	key := im.reports.put(p.UserID, report)
	if key == "" {
		return ""
	}
	return "/people/import/report/" + key + ".xlsx"
}

func (im *importRoom) report(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	key, ok := strings.CutSuffix(r.PathValue("file"), ".xlsx")
	data, found := im.reports.get(key, p.UserID)
	if !ok || !found {
		return errs.NotFound("错误报告不存在或已过期（保留30分钟），请重新导入后下载")
	}
	download(w, "人员导入错误报告.xlsx", "import-errors.xlsx")
	_, err := w.Write(data)
	return err
}

// export downloads the people of the list filters (those of /people) as a spreadsheet the
// import reads back. The service writes nothing until its audit record is in, so an error
// before then is still a clean error answer; the headers go out with the first byte.
func (im *importRoom) export(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	f, err := im.s.peopleFilter(r, p)
	if err != nil {
		return err
	}
	day := store.LocalDate(im.s.cfg.DB.Now())
	day = strings.ReplaceAll(day, "-", "")
	out := &lazyDownload{w: w, name: "人员名单-" + day + ".xlsx", fallback: "people-" + day + ".xlsx"}
	_, err = im.s.cfg.Org.ExportPeople(r.Context(), p, f, out)
	if err != nil && out.started {
		// Half a file has gone out: an error body now would only corrupt it further.
		im.s.log.Error("people export failed after the download began", "err", err.Error())
		return nil
	}
	return err
}

// lazyDownload sets the download headers on the first write, so that a failure before any
// data leaves the handler free to answer with an error instead.
type lazyDownload struct {
	w              http.ResponseWriter
	name, fallback string
	started        bool
}

func (d *lazyDownload) Write(b []byte) (int, error) {
	if !d.started {
		d.started = true
		download(d.w, d.name, d.fallback)
	}
	return d.w.Write(b)
}

// download sets the headers of an .xlsx attachment: the Chinese file name as RFC 6266's
// filename* in UTF-8, with an ASCII fallback for old clients.
func download(w http.ResponseWriter, name, fallback string) {
	h := w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, fallback, rfc5987(name)))
	h.Set("Cache-Control", "no-store")
}

// rfc5987 percent-encodes every byte outside RFC 5987's attr-char.
func rfc5987(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// reportStore keeps error reports in memory for their uploaders for reportTTL, within
// maxReports and maxReportBytes: the oldest go first when a new one needs room.
type reportStore struct {
	now   func() time.Time
	mu    sync.Mutex
	items []storedReport // oldest first
	bytes int
}

type storedReport struct {
	key     string
	userID  int64
	data    []byte
	expires time.Time
}

// put keeps data for userID and returns its key, "" if it is larger than the whole store.
func (rs *reportStore) put(userID int64, data []byte) string {
	if len(data) > maxReportBytes {
		return ""
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.expire()
	for len(rs.items) > 0 && (len(rs.items) >= maxReports || rs.bytes+len(data) > maxReportBytes) {
		rs.drop()
	}
	key := rand.Text()
	rs.items = append(rs.items, storedReport{key: key, userID: userID, data: data, expires: rs.now().Add(reportTTL)})
	rs.bytes += len(data)
	return key
}

// get returns the report with key if it is still kept and belongs to userID.
func (rs *reportStore) get(key string, userID int64) ([]byte, bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.expire()
	for _, it := range rs.items {
		if it.key == key && it.userID == userID {
			return it.data, true
		}
	}
	return nil, false
}

// expire drops the reports whose time is up; items expire in the order they were put.
func (rs *reportStore) expire() {
	now := rs.now()
	for len(rs.items) > 0 && !now.Before(rs.items[0].expires) {
		rs.drop()
	}
}

func (rs *reportStore) drop() {
	rs.bytes -= len(rs.items[0].data)
	rs.items = slices.Delete(rs.items, 0, 1)
}
