package httpapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/bulk"
)

// DefaultMaxBatchBytes caps the upload of one batch.
const DefaultMaxBatchBytes = 1 << 30

// ResultsCountHeader, on GET /v1/batches/{id}/results.ndjson, is the
// number of lines the body holds, set before it is streamed: a body with
// fewer complete lines was cut (the stream from the database broke).
const ResultsCountHeader = "X-Results-Count"

// BatchesConfig configures registry-scale issuing over HTTP. Manager and
// Auth are required.
type BatchesConfig struct {
	Manager *bulk.Manager
	Auth    *auth.Authenticator
	// MaxBytes caps one batch's upload; 0 means DefaultMaxBatchBytes.
	MaxBytes int64
	// Now is the clock (linkExp checks); nil means time.Now.
	Now func() time.Time
}

// Batches serves POST /v1/batches (NDJSON files or a ZIP of them, FHIR
// Bulk Data $export output), GET /v1/batches/{id} (status and progress)
// and, when the batch is done, GET /v1/batches/{id}/results.ndjson
// (streamed from the database) and GET
// /v1/batches/{id}/files/{cards|qr|pdf}/{name} (rendered from the stored
// cards). Every route needs the cards:issue scope, and a batch is visible
// only to the principal that submitted it. Any replica serves any batch.
// Register it with Config.Mount.
type Batches struct {
	cfg BatchesConfig
}

// NewBatches checks cfg.
func NewBatches(cfg BatchesConfig) (*Batches, error) {
	if cfg.Manager == nil || cfg.Auth == nil {
		return nil, errors.New("httpapi: BatchesConfig.Manager and Auth are required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBatchBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Batches{cfg: cfg}, nil
}

// Mount registers the routes.
func (b *Batches) Mount(e *echo.Echo) {
	e.POST("/v1/batches", b.create)
	e.GET("/v1/batches/:id", b.get)
	e.GET("/v1/batches/:id/results.ndjson", b.results)
	e.GET("/v1/batches/:id/files/:dir/:name", b.file)
}

func (b *Batches) principal(c *echo.Context) (*auth.Principal, error) {
	p, err := b.cfg.Auth.Authenticate(c.Request().Context(), c.Request().Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if !p.Has(auth.ScopeCardsIssue) {
		return nil, forbidden("this endpoint needs the scope " + auth.ScopeCardsIssue)
	}
	return p, nil
}

// BatchJSON is the reply of POST /v1/batches and GET /v1/batches/{id}.
type BatchJSON struct {
	bulk.BatchStatus
	// Results is the download of results.ndjson, once done.
	Results string `json:"results,omitempty"`
}

func batchJSON(st bulk.BatchStatus) BatchJSON {
	out := BatchJSON{BatchStatus: st}
	if st.Status == bulk.BatchDone {
		out.Results = "/v1/batches/" + st.ID + "/results.ndjson"
	}
	return out
}

// create is POST /v1/batches?outputs=card,png,svg,pdf,link&paper=a4|letter
// [&linkPasscode=true][&linkExp=EPOCH] with
// application/zip, application/x-ndjson (or fhir+ndjson) or
// multipart/form-data (one part per .ndjson file).
func (b *Batches) create(c *echo.Context) error {
	p, err := b.principal(c)
	if err != nil {
		return err
	}
	outs := c.QueryParam("outputs")
	if outs == "" {
		outs = "card"
	}
	o, err := bulk.ParseOutputs(outs)
	if err != nil {
		return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "outputs: " + err.Error()}
	}
	if v := c.QueryParam("linkPasscode"); v != "" {
		if v != "true" && v != "false" {
			return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "linkPasscode: true or false"}
		}
		o.LinkPasscode = v == "true"
	}
	if v := c.QueryParam("linkExp"); v != "" {
		exp, err := strconv.ParseInt(v, 10, 64)
		if err != nil || exp <= b.cfg.Now().Unix() || exp >= 100_000_000_000 {
			return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "linkExp: epoch seconds in the future"}
		}
		o.LinkExp = exp
	}
	if (o.LinkPasscode || o.LinkExp != 0) && !o.Link {
		return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "linkPasscode and linkExp need link in outputs"}
	}
	switch strings.ToLower(c.QueryParam("paper")) {
	case "", "a4":
		o.Paper = "A4"
	case "letter":
		o.Paper = "Letter"
	default:
		return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "paper: a4 or letter"}
	}
	req := c.Request()
	body := http.MaxBytesReader(c.Response(), req.Body, b.cfg.MaxBytes+1<<20)
	mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	var st bulk.BatchStatus
	switch mt {
	case "application/zip":
		st, err = b.cfg.Manager.Submit(req.Context(), p.Actor(), o, []bulk.Upload{{Name: "export.zip", Body: body}}, b.cfg.MaxBytes)
	case "application/x-ndjson", "application/fhir+ndjson", "application/ndjson":
		st, err = b.cfg.Manager.Submit(req.Context(), p.Actor(), o, []bulk.Upload{{Name: "export.ndjson", Body: body}}, b.cfg.MaxBytes)
	case "multipart/form-data":
		if params["boundary"] == "" {
			return &issuer.Error{Code: issuer.CodeBadRequest, Msg: "multipart/form-data without a boundary"}
		}
		st, err = b.multipart(c, p, o, body, params["boundary"])
	default:
		return echo.ErrUnsupportedMediaType
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &issuer.Error{Code: issuer.CodeTooLarge, Msg: "the batch exceeds the size limit"}
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/v1/batches/"+st.ID)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusAccepted, batchJSON(st))
}

func (b *Batches) multipart(c *echo.Context, p *auth.Principal, o bulk.Outputs, body io.Reader, boundary string) (bulk.BatchStatus, error) {
	mr := multipart.NewReader(body, boundary)
	return b.cfg.Manager.SubmitStream(c.Request().Context(), p.Actor(), o, func() (*bulk.Upload, error) {
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, nil
			}
			if err != nil {
				return nil, &issuer.Error{Code: issuer.CodeBadRequest, Msg: "the multipart form could not be read"}
			}
			if part.FileName() != "" {
				return &bulk.Upload{Name: part.FileName(), Body: part}, nil
			}
		}
	}, b.cfg.MaxBytes)
}

func (b *Batches) get(c *echo.Context) error {
	p, err := b.principal(c)
	if err != nil {
		return err
	}
	st, err := b.cfg.Manager.Status(c.Request().Context(), c.Param("id"), p.Actor())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, batchJSON(st))
}

func (b *Batches) results(c *echo.Context) error {
	p, err := b.principal(c)
	if err != nil {
		return err
	}
	ctx, id := c.Request().Context(), c.Param("id")
	lines, err := b.cfg.Manager.CheckResults(ctx, id, p.Actor())
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Content-Disposition", "attachment")
	h.Set(ResultsCountHeader, strconv.Itoa(lines))
	c.Response().WriteHeader(http.StatusOK)
	// Streamed from the database: a broken stream ends the body early,
	// with fewer lines than ResultsCountHeader announced.
	return b.cfg.Manager.Results(ctx, id, p.Actor(), c.Response())
}

func (b *Batches) file(c *echo.Context) error {
	p, err := b.principal(c)
	if err != nil {
		return err
	}
	rel := c.Param("dir") + "/" + c.Param("name")
	ct := "application/octet-stream"
	switch {
	case strings.HasSuffix(rel, ".smart-health-card"):
		ct = "application/smart-health-card"
	case strings.HasSuffix(rel, ".png"):
		ct = "image/png"
	case strings.HasSuffix(rel, ".svg"):
		ct = "image/svg+xml"
	case strings.HasSuffix(rel, ".pdf"):
		ct = "application/pdf"
	}
	data, err := b.cfg.Manager.File(c.Request().Context(), c.Param("id"), p.Actor(), rel)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", "attachment")
	return c.Blob(http.StatusOK, ct, data)
}
