package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/internal/jsonlite"
	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/auth"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

func jsonAs(c *echo.Context, status int, contentType string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return c.Blob(status, contentType, buf.Bytes())
}

// postResults is POST /v1/results: store a lab's FHIR bundle.
func (s *server) postResults(c *echo.Context) error {
	p, err := s.requireScope(c, auth.ScopeResultsWrite)
	if err != nil {
		return err
	}
	body, err := s.readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	pid, n, err := s.is.PutResults(c.Request().Context(), body, p.Actor())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"patientId": pid, "resources": n})
}

// CardLinks are the URLs to fetch a card again.
type CardLinks struct {
	JWS   string `json:"jws"`
	File  string `json:"smart-health-card"`
	PNG   string `json:"png"`
	SVG   string `json:"svg"`
	Text  string `json:"txt"`
	Print string `json:"print"`
}

// CardJSON is one card in the POST /v1/cards JSON reply.
type CardJSON struct {
	ID       string    `json:"id"`
	Kid      string    `json:"kid"`
	RID      string    `json:"rid"`
	Types    []string  `json:"types"`
	IssuedAt time.Time `json:"issuedAt"`
	JWS      string    `json:"jws"`
	QR       []string  `json:"qr,omitempty"`
	Links    CardLinks `json:"links"`
}

func (s *server) links(id string) CardLinks {
	b := s.cfg.BaseURL + "/v1/cards/" + id
	return CardLinks{JWS: b + ".jws", File: b + ".smart-health-card", PNG: b + ".png", SVG: b + ".svg", Text: b + ".txt",
		Print: s.cfg.BaseURL + "/cards/" + id + "/print"}
}

// format picks the reply format from ?format= or Accept.
func format(c *echo.Context) string {
	if f := c.QueryParam("format"); f != "" {
		return f
	}
	acc := c.Request().Header.Get("Accept")
	switch {
	case strings.Contains(acc, shc.FileMediaType):
		return "smart-health-card"
	case strings.Contains(acc, "image/png"):
		return "png"
	case strings.Contains(acc, "image/svg+xml"):
		return "svg"
	case strings.Contains(acc, "application/jose"):
		return "jws"
	case strings.HasPrefix(acc, "text/plain"):
		return "txt"
	}
	return "json"
}

// postCards is POST /v1/cards: issue cards from a bundle.
//
// ?delivery=qr (default: every card must fit one QR), chunks (legacy
// chunked QRs allowed) or file (no size rule). The reply format comes from
// ?format= (json, jws, smart-health-card, png, svg, txt) or Accept.
func (s *server) postCards(c *echo.Context) error {
	p, err := s.requireScope(c, auth.ScopeCardsIssue)
	if err != nil {
		return err
	}
	f := format(c)
	var delivery issuer.Delivery
	switch c.QueryParam("delivery") {
	case "", "qr":
		delivery = issuer.DeliverQR
	case "chunks":
		delivery = issuer.DeliverQRChunks
	case "file":
		delivery = issuer.DeliverFile
	default:
		return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "delivery must be qr, chunks or file"}
	}
	if f == "smart-health-card" && c.QueryParam("delivery") == "" {
		delivery = issuer.DeliverFile // a file has no size rule
	}
	body, err := s.readBody(c, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	cards, err := s.is.IssueBundle(c.Request().Context(), body, issuer.IssueOptions{Actor: p.Actor(), Delivery: delivery})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	switch f {
	case "json":
		out := struct {
			Cards []CardJSON `json:"cards"`
		}{}
		for _, cd := range cards {
			out.Cards = append(out.Cards, CardJSON{ID: cd.ID, Kid: cd.Kid, RID: cd.RID, Types: cd.Types, IssuedAt: cd.IssuedAt,
				JWS: cd.JWS, QR: cd.QR, Links: s.links(cd.ID)})
		}
		return c.JSON(http.StatusCreated, out)
	case "smart-health-card":
		jws := make([]string, len(cards))
		for i, cd := range cards {
			jws[i] = cd.JWS
		}
		name := "health-cards-" + cards[0].IssuedAt.UTC().Format("2006-01-02")
		if len(cards) == 1 {
			name = "health-card-" + cards[0].ID
		}
		return s.writeFile(c, http.StatusCreated, name, jws...)
	case "jws", "txt":
		// One card or QR text per line, with no trailing newline: a single
		// card's body is exactly its JWS or shc:/ text (the reference
		// validator flags trailing white space, error 133).
		var lines []string
		for _, cd := range cards {
			if f == "jws" {
				lines = append(lines, cd.JWS)
				continue
			}
			texts := cd.QR
			if len(texts) == 0 {
				texts, err = shc.EncodeQRChunks(cd.JWS, 0)
				if err != nil {
					return err
				}
			}
			lines = append(lines, texts...)
		}
		return c.Blob(http.StatusCreated, "text/plain; charset=utf-8", []byte(strings.Join(lines, "\n")))
	case "png", "svg":
		if len(cards) != 1 {
			return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: fmt.Sprintf("the bundle gave %d cards; ask for json and fetch each card's image from its links", len(cards))}
		}
		text := ""
		if len(cards[0].QR) == 1 {
			text = cards[0].QR[0] // the issuer's own QR text: not encoded again
		}
		return s.writeQR(c, http.StatusCreated, cards[0].JWS, text, f)
	}
	return &issuer.Error{Code: issuer.CodeInvalidParameters, Msg: "format must be json, jws, smart-health-card, png, svg or txt"}
}

// writeFile sends a .smart-health-card download (FILE-1, FILE-2).
func (s *server) writeFile(c *echo.Context, status int, name string, jws ...string) error {
	b, err := shc.MarshalFile(jws...)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+shc.FileExtension+`"`)
	return c.Blob(status, shc.FileMediaType, b)
}

// writeQR sends the card's single QR as PNG or SVG. text is the card's QR
// text when the caller has it ("" to derive it from jws).
func (s *server) writeQR(c *echo.Context, status int, jws, text, f string) error {
	if len(jws) > s.is.MaxSingleQRJWS() {
		return &issuer.Error{Code: issuer.CodeCardTooLargeForQR, Msg: fmt.Sprintf("the card (%d characters) does not fit one QR at level %s; download the .smart-health-card file or the txt chunks", len(jws), s.is.QRLevel())}
	}
	if text == "" {
		var err error
		if text, err = shc.EncodeQRText(jws); err != nil {
			return err
		}
	}
	code, err := qr.Encode(text, qr.WithLevel(s.is.QRLevel()))
	if err != nil {
		if shc.CodeOf(err) == shc.CodeQRTooLarge {
			return &issuer.Error{Code: issuer.CodeCardTooLargeForQR, Msg: err.Error()}
		}
		return &issuer.Error{Code: issuer.CodeInternal, Msg: "QR encoding failed", Err: err}
	}
	if f == "png" {
		scale, _ := strconv.Atoi(c.QueryParam("scale"))
		if scale < 1 || scale > 16 {
			scale = 6
		}
		// PNG builds the whole file before its one Write, and the scale
		// is valid: nothing can fail after the status is sent but the
		// connection itself.
		c.Response().Header().Set(echo.HeaderContentType, "image/png")
		c.Response().WriteHeader(status)
		return code.PNG(c.Response(), scale)
	}
	var buf bytes.Buffer
	if err := code.SVG(&buf); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return c.Blob(status, "image/svg+xml", buf.Bytes())
}

// card loads an issued card by its id.
func (s *server) card(c *echo.Context, id string) (store.IssuedCard, error) {
	if len(id) != 22 {
		return store.IssuedCard{}, &issuer.Error{Code: issuer.CodeNotFound, Msg: "no such card"}
	}
	cd, err := s.is.Store().Card(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return cd, &issuer.Error{Code: issuer.CodeNotFound, Msg: "no such card"}
	}
	if err != nil {
		return cd, &issuer.Error{Code: issuer.CodeInternal, Msg: "reading the card", Err: err}
	}
	return cd, nil
}

// getCard is GET /v1/cards/{id}.{jws|smart-health-card|png|svg|txt}. Card
// ids are 128-bit random capability URLs: whoever holds the link may fetch
// the card, as with the card itself (a bearer credential, TRUST-5).
func (s *server) getCard(c *echo.Context) error {
	file := c.Param("file")
	id, ext, ok := strings.Cut(file, ".")
	if !ok {
		return &issuer.Error{Code: issuer.CodeNotFound, Msg: "no such card"}
	}
	cd, err := s.card(c, id)
	if err != nil {
		return err
	}
	if d := s.authz.Authorize(c.Request().Context(), nil, authz.ActionDownload, authz.Target{Patient: cd.PatientID, Card: cd.ID}); !d.Allow {
		return denied(d)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	switch ext {
	case "jws":
		return c.Blob(http.StatusOK, "application/jose", []byte(cd.JWS))
	case "smart-health-card":
		return s.writeFile(c, http.StatusOK, "health-card-"+cd.ID, cd.JWS)
	case "png", "svg":
		return s.writeQR(c, http.StatusOK, cd.JWS, "", ext)
	case "txt":
		var texts []string
		if len(cd.JWS) <= s.is.MaxSingleQRJWS() {
			t, err := shc.EncodeQRText(cd.JWS)
			if err != nil {
				return err
			}
			texts = []string{t}
		} else if texts, err = shc.EncodeQRChunks(cd.JWS, 0); err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(strings.Join(texts, "\n")))
	}
	return &issuer.Error{Code: issuer.CodeNotFound, Msg: "unknown card format " + strconv.Quote(ext)}
}

// revocationRequest is the body of POST /v1/revocations.
type revocationRequest struct {
	PatientID    string `json:"patientId"`
	RID          string `json:"rid"`
	Kid          string `json:"kid"`
	IssuedBefore string `json:"issuedBefore"` // RFC 3339 or epoch seconds
	All          bool   `json:"all"`          // every card, also future ones
	Reason       string `json:"reason"`
}

// postRevocation is POST /v1/revocations. By default it revokes the cards
// issued up to now (the "rid.T" form, REV-5), so that a corrected card
// issued afterwards is valid; "all": true revokes every card of the rid,
// also future ones; "issuedBefore" picks the time. The reply is sent only
// after the store has committed the revocation durably.
func (s *server) postRevocation(c *echo.Context) error {
	p, err := s.requireScope(c, auth.ScopeCardsRevoke)
	if err != nil {
		return err
	}
	body, err := s.readBody(c, 16<<10)
	if err != nil {
		return err
	}
	var rr revocationRequest
	if err := jsonlite.DecodeExact(body, &rr); err != nil { // names matched exactly (issue 10)
		return &issuer.Error{Code: issuer.CodeInvalidRevocation, Msg: `body must be {"patientId"|"rid", "kid"?, "issuedBefore"?|"all"?, "reason"?} (member names are case-sensitive, each at most once)`}
	}
	target := authz.Target{Patient: rr.PatientID, Card: rr.RID}
	if rr.PatientID != "" {
		target.Card = ""
	}
	if target.Patient != "" || target.Card != "" { // an empty request is refused by Revoke (invalid_revocation)
		if d := s.authz.Authorize(c.Request().Context(), p, authz.ActionRevoke, target); !d.Allow {
			return denied(d)
		}
	}
	req := issuer.RevokeRequest{PatientID: rr.PatientID, RID: rr.RID, Kid: rr.Kid, All: rr.All, Actor: p.Actor(), Reason: rr.Reason}
	if len(rr.Reason) > 200 {
		return &issuer.Error{Code: issuer.CodeInvalidRevocation, Msg: "reason is limited to 200 characters"}
	}
	if rr.IssuedBefore != "" {
		t, err := time.Parse(time.RFC3339, rr.IssuedBefore)
		if err != nil {
			sec, perr := strconv.ParseInt(rr.IssuedBefore, 10, 64)
			if perr != nil {
				return &issuer.Error{Code: issuer.CodeInvalidRevocation, Msg: "issuedBefore must be RFC 3339 or epoch seconds"}
			}
			t = time.Unix(sec, 0)
		}
		req.Before = &t
	}
	res, err := s.is.Revoke(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
