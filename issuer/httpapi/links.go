package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/bulk"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/host"
	"github.com/healthcards/healthcards/shl/shlqr"
)

// LinksPath is where the issuer serves SMART Health Links: manifest URLs
// are BaseURL + LinksPath + "/" + 43-character id (SHL-4).
const LinksPath = "/shl"

// maxLinksBaseURL keeps manifest URLs within 128 characters (SHL-4):
// BaseURL + "/shl/" + 43.
const maxLinksBaseURL = shl.MaxURLLen - len(LinksPath) - 1 - 43

// Link API bounds.
const (
	maxLinkBody    = 4 << 20 // a create request with its bundle
	maxViewerLen   = 512
	healthCardType = "https://smarthealth.cards#health-card"
	linkQRSize     = 512
)

// LinksConfig configures SMART Health Links on the issuer service. Issuer,
// Auth and BaseURL are required (the same values as Config's).
type LinksConfig struct {
	Issuer *issuer.Issuer
	Auth   *auth.Authenticator
	// BaseURL is the service's public https base (no trailing slash), at
	// most 80 characters so that manifest URLs stay within 128 (SHL-4).
	BaseURL string
	// Store keeps the links; nil means an in-memory store (lost on
	// restart). Use shl/sqlstore in production.
	Store host.Store
	// Source is where a patient's results are read to issue cards; nil
	// means the issuer's own store.
	Source issuer.Source
	// Authz decides link creation from a patient's data and revocations
	// (issue 12); nil means the embedded default policies over Source,
	// audited to the issuer's store. Give the same Engine as Config.Authz.
	Authz *authz.Engine
	// MaxPasscodeFailures is the lifetime limit of wrong passcodes per link
	// (SHL-10); 0 means host.DefaultMaxPasscodeFailures.
	MaxPasscodeFailures int
	// LocationSecret signs location URLs (≥ 32 bytes); nil means random per
	// process. Give every instance the same secret.
	LocationSecret []byte
	// LocationTTL is how long location URLs work; 0 means the shl default.
	LocationTTL time.Duration
	// DefaultExpiry is how long a link lives when the request gives no
	// "exp" (SHL-2); 0 means DefaultLinkExpiry. A link that never expires
	// must be asked for ("noExpiry": true).
	DefaultExpiry time.Duration
	// Metrics counts links created and revoked (the same as Config's);
	// nil counts nowhere.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultLinkExpiry is the lifetime of a link created without "exp".
const DefaultLinkExpiry = 30 * 24 * time.Hour

// Links hosts SMART Health Links on the issuer service: the manifest
// protocol under /shl/ and the management API under /v1/links. Register
// it with Config.Mount = links.Mount.
type Links struct {
	cfg   LinksConfig
	host  *host.Host
	src   issuer.Source
	authz *authz.Engine
	now   func() time.Time
}

// NewLinks checks cfg and builds the link host.
func NewLinks(cfg LinksConfig) (*Links, error) {
	if cfg.Issuer == nil || cfg.Auth == nil {
		return nil, errors.New("httpapi: LinksConfig.Issuer and LinksConfig.Auth are required")
	}
	if !strings.HasPrefix(cfg.BaseURL, "https://") || strings.HasSuffix(cfg.BaseURL, "/") {
		return nil, errors.New("httpapi: LinksConfig.BaseURL must be an https URL without trailing slash")
	}
	if cfg.DefaultExpiry < 0 {
		return nil, errors.New("httpapi: LinksConfig.DefaultExpiry must not be negative")
	}
	if cfg.DefaultExpiry == 0 {
		cfg.DefaultExpiry = DefaultLinkExpiry
	}
	if len(cfg.BaseURL) > maxLinksBaseURL {
		return nil, errors.New("httpapi: LinksConfig.BaseURL is too long: manifest URLs would exceed 128 characters (SHL-4)")
	}
	st := cfg.Store
	if st == nil {
		st = host.NewMemoryStore()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	h, err := host.New(host.Config{
		BaseURL: cfg.BaseURL + LinksPath, Store: st, MaxPasscodeFailures: cfg.MaxPasscodeFailures,
		LocationSecret: cfg.LocationSecret, LocationTTL: cfg.LocationTTL, Now: now,
	})
	if err != nil {
		return nil, err
	}
	src := cfg.Source
	if src == nil {
		src = issuer.StoreSource{Store: cfg.Issuer.Store(), BaseURL: cfg.BaseURL + "/fhir"}
	}
	az := cfg.Authz
	if az == nil {
		if az, err = authz.New(authz.Config{Source: src, Audit: cfg.Issuer.Store(), Now: cfg.Issuer.Now}); err != nil {
			return nil, err
		}
	}
	return &Links{cfg: cfg, host: h, src: src, authz: az, now: now}, nil
}

// Host returns the underlying link host (for tests and other front ends).
func (l *Links) Host() *host.Host { return l.host }

// Mount registers the routes on e (use as Config.Mount).
//
//	POST   /shl/{id}            manifest requests (SHL-9..11), public
//	GET    /shl/{id}?recipient= U links (SHL-16); GET /shl/f/{token}: locations
//	POST   /v1/links            create (scope cards:issue)
//	GET    /v1/links/{id}       status and access log (as the decision point allows: by default the creator, or the link's patient)
//	GET    /v1/links/{id}/qr.png the link as a QR code at level M (same access as GET)
//	DELETE /v1/links/{id}       revoke (scope cards:revoke, or a SMART token for the link's patient)
func (l *Links) Mount(e *echo.Echo) {
	h := echo.WrapHandler(l.host)
	e.Any(LinksPath+"/*", h)
	e.POST("/v1/links", l.create)
	e.GET("/v1/links/:id", l.get)
	e.GET("/v1/links/:id/qr.png", l.qr)
	e.DELETE("/v1/links/:id", l.revoke)
}

// owner is what the management API keeps in StoredLink.Owner.
type owner struct {
	Actor   string `json:"a"`           // principal that created the link
	Patient string `json:"p,omitempty"` // the patient whose data it shares, when known
}

func parseOwner(s string) owner {
	var o owner
	_ = json.Unmarshal([]byte(s), &o)
	return o
}

// CreateLinkRequest is the body of POST /v1/links. Exactly one of PatientID
// and Bundle is given.
type CreateLinkRequest struct {
	// PatientID: share the patient's stored results, issued now as cards
	// for file delivery (no QR size rule), in one .smart-health-card file.
	PatientID string `json:"patientId,omitempty"`
	// Bundle: share this FHIR Bundle, as application/fhir+json, or with
	// Sign as cards issued from it (in one .smart-health-card file).
	Bundle json.RawMessage `json:"bundle,omitempty"`
	Sign   bool            `json:"sign,omitempty"`
	// Passcode, when set, is required to open the link (P flag).
	Passcode string `json:"passcode,omitempty"`
	// Exp is the expiry in epoch seconds (SHL-2); 0 means the configured
	// default (LinksConfig.DefaultExpiry, 30 days unless set).
	Exp int64 `json:"exp,omitempty"`
	// NoExpiry asks for a link that never expires (no "exp"); it cannot be
	// combined with Exp.
	NoExpiry bool `json:"noExpiry,omitempty"`
	// Label is shown to the recipient (at most 80 characters, SHL-7).
	Label string `json:"label,omitempty"`
	// LongTerm sets the L flag.
	LongTerm bool `json:"longTerm,omitempty"`
	// Viewer is an optional https viewer URL ending in '#' put before the
	// shlink (SHL-3).
	Viewer string `json:"viewer,omitempty"`
}

// LinkJSON is a link in the management API's replies.
type LinkJSON struct {
	ID string `json:"id"`
	// ShLink is the link: "shlink:/…", or the viewer URL + "#shlink:/…".
	ShLink  string       `json:"shlink"`
	Payload *shl.Payload `json:"payload"`
	// QR is the URL of the link's QR code (PNG, level M); it needs the
	// same bearer token as this resource.
	QR           string             `json:"qr"`
	Created      time.Time          `json:"created"`
	Active       bool               `json:"active"`
	Revoked      bool               `json:"revoked"`
	Expired      bool               `json:"expired"`
	Locked       bool               `json:"locked"`
	FailuresLeft *int               `json:"remainingAttempts,omitempty"`
	Files        int                `json:"files"`
	Cards        int                `json:"cards,omitempty"`
	AccessLog    []host.AccessEvent `json:"accessLog,omitempty"`
}

func linkErr(err error) error {
	switch shl.CodeOf(err) {
	case "":
		return err
	case shl.CodeLinkNotFound:
		return &issuer.Error{Code: issuer.CodeNotFound, Msg: "no such link"}
	case shl.CodeInvalidArgument, shl.CodeMalformedLink:
		return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: err.Error()}
	case shl.CodeTooLarge:
		return &issuer.Error{Code: issuer.CodeTooLarge, Msg: err.Error()}
	}
	return &issuer.Error{Code: issuer.CodeInternal, Msg: "link store failure", Err: err}
}

func badLink(msg string) error { return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: msg} }

func (l *Links) principal(c *echo.Context) (*auth.Principal, error) {
	return l.cfg.Auth.Authenticate(c.Request().Context(), c.Request().Header.Get("Authorization"))
}

func readLimited(c *echo.Context, limit int64) ([]byte, error) {
	r := http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &issuer.Error{Code: issuer.CodeTooLarge, Msg: "request body exceeds the size limit"}
	}
	if err != nil {
		return nil, badLink("cannot read the request body")
	}
	return buf.Bytes(), nil
}

func checkViewer(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if len(v) > maxViewerLen || err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || !strings.HasSuffix(v, "#") || strings.Count(v, "#") != 1 {
		return badLink("viewer must be an https URL ending in '#' (SHL-3), at most 512 characters")
	}
	return nil
}

// create is POST /v1/links.
func (l *Links) create(c *echo.Context) error {
	p, err := l.principal(c)
	if err != nil {
		return err
	}
	body, err := readLimited(c, maxLinkBody)
	if err != nil {
		return err
	}
	var req CreateLinkRequest
	if err := jsonlite.DecodeExact(body, &req); err != nil { // names matched exactly (issue 10)
		return badLink(`body must be {"patientId"|"bundle", "sign"?, "passcode"?, "exp"?|"noExpiry"?, "label"?, "longTerm"?, "viewer"?}`)
	}
	if (req.PatientID == "") == (len(req.Bundle) == 0) {
		return badLink("give exactly one of patientId and bundle")
	}
	if req.Sign && req.PatientID != "" {
		return badLink("sign applies to a bundle; a patient's results are always shared as cards")
	}
	if err := checkViewer(req.Viewer); err != nil {
		return err
	}
	// A bundle the caller sends is shared (or signed) only for lab systems;
	// a patient's stored results are shared as the decision point allows.
	if req.PatientID == "" && !p.Has(auth.ScopeCardsIssue) {
		return forbidden("sharing a bundle needs the scope " + auth.ScopeCardsIssue)
	}
	if !utf8.ValidString(req.Passcode) || len(req.Passcode) > shl.MaxPasscodeLen {
		return badLink("passcode must be UTF-8 of at most 256 bytes")
	}
	opts := host.LinkOptions{Passcode: req.Passcode, Label: req.Label, LongTerm: req.LongTerm}
	switch {
	case req.NoExpiry && req.Exp != 0:
		return badLink("give exp or noExpiry, not both")
	case req.NoExpiry:
	case req.Exp != 0:
		if req.Exp < 0 || req.Exp >= 100_000_000_000 {
			return badLink("exp must be epoch seconds")
		}
		opts.Expires = time.Unix(req.Exp, 0)
	default:
		opts.Expires = l.now().Add(l.cfg.DefaultExpiry).Truncate(time.Second)
	}
	ctx := c.Request().Context()
	own := owner{Actor: p.Actor()}
	var (
		files []host.FileContent
		cards int
	)
	switch {
	case req.PatientID != "":
		own.Patient = req.PatientID
		d := l.authz.Authorize(ctx, p, authz.ActionShare, authz.Target{Patient: req.PatientID, CredentialTypes: []string{healthCardType}})
		if !d.Allow {
			return denied(d)
		}
		_, issued, err := l.cfg.Issuer.HealthCardsIssue(ctx, l.src, req.PatientID,
			issuer.IssueParams{CredentialTypes: []string{healthCardType}}, issuer.OperationOptions{Actor: p.Actor(), Filter: d.Filter()})
		_ = l.authz.Record(ctx, d)
		if err != nil {
			return err
		}
		if len(issued) == 0 {
			if msg, ok := d.Explain(); ok {
				return forbidden(msg)
			}
			return &issuer.Error{Code: issuer.CodeNoContent, Msg: "the patient has no results to share"}
		}
		f, err := cardFile(issued)
		if err != nil {
			return err
		}
		files, cards = []host.FileContent{f}, len(issued)
	case req.Sign:
		issued, err := l.cfg.Issuer.IssueBundle(ctx, req.Bundle, issuer.IssueOptions{Actor: p.Actor(), Delivery: issuer.DeliverFile})
		if err != nil {
			return err
		}
		if len(issued) == 0 {
			return &issuer.Error{Code: issuer.CodeNoContent, Msg: "nothing in the bundle to put on a card"}
		}
		if rec, err := l.cfg.Issuer.Store().Card(ctx, issued[0].ID); err == nil {
			own.Patient = rec.PatientID
		}
		f, err := cardFile(issued)
		if err != nil {
			return err
		}
		files, cards = []host.FileContent{f}, len(issued)
	default:
		pid, err := checkFHIRBundle(req.Bundle)
		if err != nil {
			return err
		}
		own.Patient = pid
		files = []host.FileContent{{ContentType: shl.ContentTypeFHIR, Data: req.Bundle, FHIRVersion: "4.0.1"}}
	}
	ob, _ := json.Marshal(own)
	opts.Owner = string(ob)
	link, err := l.host.CreateLink(ctx, files, opts)
	if err != nil {
		return linkErr(err)
	}
	out, err := l.linkJSON(ctx, link.ID, req.Viewer, false)
	if err != nil {
		return err
	}
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.linksCreated.Add(1)
	}
	out.Cards = cards
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Location", l.cfg.BaseURL+"/v1/links/"+link.ID)
	return jsonAs(c, http.StatusCreated, "application/json", out)
}

// cardFile puts cards into one .smart-health-card file (FILE-1).
func cardFile(cards []issuer.Card) (host.FileContent, error) {
	jws := make([]string, len(cards))
	for i, cd := range cards {
		jws[i] = cd.JWS
	}
	b, err := shc.MarshalFile(jws...)
	if err != nil {
		return host.FileContent{}, &issuer.Error{Code: issuer.CodeInternal, Msg: "card file", Err: err}
	}
	return host.FileContent{ContentType: shl.ContentTypeSHC, Data: b}, nil
}

// checkFHIRBundle accepts a JSON object with resourceType Bundle and
// returns the id of its first Patient, if any (to let that patient see the
// link).
func checkFHIRBundle(b []byte) (string, error) {
	var v struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.ResourceType != "Bundle" {
		return "", &issuer.Error{Code: issuer.CodeInvalidBundle, Msg: "bundle must be a FHIR Bundle (application/fhir+json)"}
	}
	for _, e := range v.Entry {
		if e.Resource.ResourceType == "Patient" {
			return e.Resource.ID, nil
		}
	}
	return "", nil
}

// authorize asks the decision point (issuer/authz) whether the caller may
// view (GET, qr.png) or revoke (DELETE) the link: by the default policies
// the creating principal and the link's patient view it. Anyone denied
// gets 404, so that the API is no oracle for link ids.
func (l *Links) authorize(c *echo.Context, id string, revoke bool) (*host.LinkInfo, error) {
	p, err := l.principal(c)
	if err != nil {
		return nil, err
	}
	info, err := l.host.Info(c.Request().Context(), id)
	if err != nil {
		return nil, linkErr(err)
	}
	o := parseOwner(info.Owner)
	act := authz.ActionView
	if revoke {
		act = authz.ActionRevoke
	}
	d := l.authz.Authorize(c.Request().Context(), p, act, authz.Target{Patient: o.Patient, Link: id, LinkCreator: o.Actor})
	if !d.Allow {
		return nil, &issuer.Error{Code: issuer.CodeNotFound, Msg: "no such link"}
	}
	return info, nil
}

func (l *Links) linkJSON(ctx context.Context, id, viewer string, withLog bool) (*LinkJSON, error) {
	info, err := l.host.Info(ctx, id)
	if err != nil {
		return nil, linkErr(err)
	}
	qr := l.cfg.BaseURL + "/v1/links/" + id + "/qr.png"
	if viewer != "" {
		qr += "?viewer=" + url.QueryEscape(viewer)
	}
	out := &LinkJSON{
		ID: id, ShLink: info.Payload.URI(viewer), Payload: info.Payload, QR: qr, Created: info.Created.UTC(),
		Active: !info.Revoked && !info.Expired && !info.Locked, Revoked: info.Revoked, Expired: info.Expired, Locked: info.Locked,
		Files: info.Files,
	}
	if info.Payload.HasFlag('P') {
		n := info.FailuresLeft
		out.FailuresLeft = &n
	}
	if withLog {
		log, err := l.host.AccessLog(ctx, id)
		if err != nil {
			return nil, linkErr(err)
		}
		out.AccessLog = log
		if out.AccessLog == nil {
			out.AccessLog = []host.AccessEvent{}
		}
	}
	return out, nil
}

// get is GET /v1/links/{id}: status and access log.
func (l *Links) get(c *echo.Context) error {
	id := c.Param("id")
	if _, err := l.authorize(c, id, false); err != nil {
		return err
	}
	viewer := c.QueryParam("viewer")
	if err := checkViewer(viewer); err != nil {
		return err
	}
	out, err := l.linkJSON(c.Request().Context(), id, viewer, true)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return jsonAs(c, http.StatusOK, "application/json", out)
}

// qr is GET /v1/links/{id}/qr.png: the link (with ?viewer= prefix) as a
// QR code at error correction M (SHL-21).
func (l *Links) qr(c *echo.Context) error {
	info, err := l.authorize(c, c.Param("id"), false)
	if err != nil {
		return err
	}
	viewer := c.QueryParam("viewer")
	if err := checkViewer(viewer); err != nil {
		return err
	}
	png, err := shlqr.PNG(info.Payload.URI(viewer), linkQRSize)
	if err != nil {
		return linkErr(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}

// revoke is DELETE /v1/links/{id}: the manifest answers 404 from now on.
func (l *Links) revoke(c *echo.Context) error {
	id := c.Param("id")
	if _, err := l.authorize(c, id, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := l.host.Revoke(ctx, id); err != nil {
		return linkErr(err)
	}
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.linksRevoked.Add(1)
	}
	out, err := l.linkJSON(ctx, id, "", false)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return jsonAs(c, http.StatusOK, "application/json", out)
}

// ShareCards puts issued cards (compact JWS) into one .smart-health-card
// file behind a new link with the passcode and the configured default
// expiry, owned by actor for the management API (the desk's "share"
// button). It returns the link as the management API shows it.
func (l *Links) ShareCards(ctx context.Context, actor, patientID, passcode, label string, jws ...string) (*LinkJSON, error) {
	if len(jws) == 0 {
		return nil, &issuer.Error{Code: issuer.CodeNoContent, Msg: "no cards to share"}
	}
	b, err := shc.MarshalFile(jws...)
	if err != nil {
		return nil, &issuer.Error{Code: issuer.CodeInternal, Msg: "card file", Err: err}
	}
	ob, _ := json.Marshal(owner{Actor: actor, Patient: patientID})
	link, err := l.host.CreateLink(ctx, []host.FileContent{{ContentType: shl.ContentTypeSHC, Data: b}},
		host.LinkOptions{Passcode: passcode, Label: label, Expires: l.now().Add(l.cfg.DefaultExpiry).Truncate(time.Second), Owner: string(ob)})
	if err != nil {
		return nil, linkErr(err)
	}
	if l.cfg.Metrics != nil {
		l.cfg.Metrics.linksCreated.Add(1)
	}
	out, err := l.linkJSON(ctx, link.ID, "", false)
	if err != nil {
		return nil, err
	}
	out.Cards = len(jws)
	return out, nil
}

// CardLink implements bulk.Linker: the link of one patient of a batch,
// made as ShareCards makes the desk's (one .smart-health-card file, the
// creator recorded as owner for the management API), with the id the
// batch derived. A link with that id that exists already (an earlier
// attempt of the batch, or another replica) is returned as it is, so a
// resumed batch never gives a patient a second link.
func (l *Links) CardLink(ctx context.Context, req bulk.LinkRequest) (bulk.LinkResult, error) {
	if len(req.JWS) == 0 {
		return bulk.LinkResult{}, &issuer.Error{Code: issuer.CodeNoContent, Msg: "no cards to share"}
	}
	b, err := shc.MarshalFile(req.JWS...)
	if err != nil {
		return bulk.LinkResult{}, &issuer.Error{Code: issuer.CodeInternal, Msg: "card file", Err: err}
	}
	ob, _ := json.Marshal(owner{Actor: req.Actor, Patient: req.PatientID})
	_, err = l.host.CreateLink(ctx, []host.FileContent{{ContentType: shl.ContentTypeSHC, Data: b}},
		host.LinkOptions{ID: req.ID, Passcode: req.Passcode, Label: req.Label, Expires: req.Expires, Owner: string(ob)})
	switch {
	case err == nil:
		if l.cfg.Metrics != nil {
			l.cfg.Metrics.linksCreated.Add(1)
		}
	case errors.Is(err, host.ErrStoreConflict):
		// Made before: keep it.
	default:
		return bulk.LinkResult{}, linkErr(err)
	}
	info, err := l.host.Info(ctx, req.ID)
	if err != nil {
		return bulk.LinkResult{}, linkErr(err)
	}
	return bulk.LinkResult{ID: req.ID, URI: info.Payload.URI(""), Exp: info.Payload.Exp}, nil
}

// DefaultExpiry is the lifetime of a link created without an expiry
// (LinksConfig.DefaultExpiry).
func (l *Links) DefaultExpiry() time.Duration { return l.cfg.DefaultExpiry }
