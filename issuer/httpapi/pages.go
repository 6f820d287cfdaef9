package httpapi

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/authz"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/verifier"
)

// summaryItem is one line of the human summary on a printed card.
type summaryItem struct {
	Kind, Date, Text, By string
}

// shortDate shows the date part of a FHIR date or dateTime.
func shortDate(s string) string {
	if len(s) > 10 && s[10] == 'T' {
		return s[:10]
	}
	return s
}

// summarize reads a card this service signed (no verification needed: it
// comes from our own store) and returns the patient's name, birth date and
// one line per immunization, lab result and lab report: the verifier's
// summary of the bundle (verifier.Summarize), so the printout names every
// code exactly as a verifier scanning it does (package terminology).
func summarize(jws string) (name, birth, ial string, items []summaryItem) {
	c, err := shc.Parse(jws)
	if err != nil {
		return "", "", "", nil
	}
	s, err := verifier.Summarize(c.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle)
	if err != nil {
		return "", "", "", nil
	}
	if s.Patient != nil {
		name, birth = s.Patient.Name, s.Patient.BirthDate
		if a := s.Patient.IdentityAssurance; a != nil { // as a verifier shows it (https://smarthealth.cards/ial)
			ial = a.Level
			if a.Text != "" {
				ial += ": " + a.Text
			}
		}
	}
	for _, im := range s.Immunizations {
		text := im.Vaccine.Label()
		if im.Lot != "" {
			text += ", lot " + im.Lot
		}
		items = append(items, summaryItem{Kind: "Immunization", Date: shortDate(im.Date), Text: text, By: im.Performer})
	}
	for _, lr := range s.LabResults {
		items = append(items, summaryItem{Kind: "Lab result", Date: shortDate(lr.Date), Text: lr.Text(), By: lr.Performer})
	}
	for _, rep := range s.LabReports {
		items = append(items, summaryItem{Kind: "Lab report", Date: shortDate(rep.Date), Text: rep.Test.Label(), By: rep.Performer})
	}
	return name, birth, ial, items
}

var printTmpl = template.Must(template.New("print").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SMART Health Card</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
@page { size: {{.Paper}}; margin: 15mm; }
body { font-family: system-ui, sans-serif; color: #111; margin: 0; }
.card { max-width: 180mm; margin: 0 auto; padding: 8mm 0; }
.qr { width: 80mm; height: 80mm; margin: 6mm auto; display: block; }
.qr svg { width: 100%; height: 100%; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 6mm 0 2mm; }
table { border-collapse: collapse; width: 100%; font-size: 10pt; }
td, th { text-align: left; padding: 1.5mm 2mm; border-bottom: 0.3mm solid #ccc; vertical-align: top; }
.issuer { font-size: 12pt; text-align: center; margin-top: 2mm; }
.note { font-size: 9pt; color: #333; margin-top: 6mm; }
.nowrap { white-space: nowrap; }
@media print { .noprint { display: none; } }
</style></head><body><div class="card">
<h1>SMART Health Card</h1>
<div>{{.Name}}{{if .Birth}} · born {{.Birth}}{{end}}</div>
{{if .IAL}}<div class="note">Identity checked by the issuer: {{.IAL}}</div>{{end}}
<div class="qr">{{.SVG}}</div>
<div class="issuer">Issued by <strong>{{.Issuer}}</strong> on {{.Issued}}</div>
<h2>Summary</h2>
<table><tr><th>Type</th><th>Date</th><th>Result</th><th>Performed by</th></tr>
{{range .Items}}<tr><td class="nowrap">{{.Kind}}</td><td class="nowrap">{{.Date}}</td><td>{{.Text}}</td><td>{{.By}}</td></tr>{{end}}
</table>
<p class="note">Scan the QR code with a SMART Health Card verifier: it checks the issuer's signature. The text on this page is only a summary and is not verified (TRUST-4).</p>
<p class="noprint note">Paper: <a href="?paper=A4">A4</a> · <a href="?paper=letter">US Letter</a></p>
</div></body></html>`))

// printCard is GET /cards/{id}/print: a printable page with the issuer
// name, the QR as inline SVG and a short human summary, laid out to fit A4
// and US Letter (?paper=A4|letter sets the page size explicitly).
func (s *server) printCard(c *echo.Context) error {
	cd, err := s.card(c, c.Param("id"))
	if err != nil {
		return err
	}
	if d := s.authz.Authorize(c.Request().Context(), nil, authz.ActionPrint, authz.Target{Patient: cd.PatientID, Card: cd.ID}); !d.Allow {
		return denied(d)
	}
	if len(cd.JWS) > s.is.MaxSingleQRJWS() {
		return &issuer.Error{Code: issuer.CodeCardTooLargeForQR, Msg: "this card does not fit one QR code; download the .smart-health-card file instead"}
	}
	text, err := shc.EncodeQRText(cd.JWS)
	if err != nil {
		return err
	}
	code, err := qr.Encode(text, qr.WithLevel(s.is.QRLevel()))
	if err != nil {
		return &issuer.Error{Code: issuer.CodeInternal, Msg: "QR encoding failed", Err: err}
	}
	var svg bytes.Buffer
	if err := code.SVG(&svg); err != nil {
		return err
	}
	paper := "auto"
	switch strings.ToLower(c.QueryParam("paper")) {
	case "a4":
		paper = "A4"
	case "letter":
		paper = "letter"
	}
	name, birth, ial, items := summarize(cd.JWS)
	data := map[string]any{
		"Paper": template.CSS(paper), "Name": name, "Birth": birth, "IAL": ial, "Items": items, "Issuer": s.cfg.IssuerName,
		"Issued": cd.IssuedAt.UTC().Format("2006-01-02"),
		"SVG":    template.HTML(svg.String()), // generated by shc/qr from digits only
	}
	var out bytes.Buffer
	if err := printTmpl.Execute(&out, data); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, out.Bytes())
}

var devTmpl = template.Must(template.New("dev").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>shc-issuer: issue a card</title>
<style nonce="{{.Nonce}}">
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
textarea { width: 100%; height: 18rem; font-family: monospace; font-size: 0.8rem; }
input { width: 100%; font-family: monospace; font-size: 1rem; padding: 0.4rem; box-sizing: border-box; }
button { font-size: 1rem; padding: 0.5rem 1.5rem; } label { font-weight: 600; } .card { border: 1px solid #ccc; padding: 1rem; margin: 1rem 0; }
.card img { width: 16rem; height: 16rem; } .err { color: #a00; white-space: pre-wrap; }
.warn { background: #fff3cd; padding: 0.5rem 1rem; }
</style></head><body>
<h1>Issue a SMART Health Card</h1>
<p class="warn">Development page. Issuer: <code>{{.Iss}}</code>. Paste a FHIR R4 Bundle (a Patient plus Observations, DiagnosticReports and/or Immunizations; performers, specimens and other supporting resources they reference go on the card too) and an API token with the <code>cards:issue</code> scope (the development token printed at start-up). The bundle below is synthetic sample data.</p>
<label>API token <input id="token" autocomplete="off" placeholder="shcit_..."></label>
<p><label>FHIR Bundle<br><textarea id="bundle">{{.Sample}}</textarea></label></p>
<button id="go">Issue cards</button>
<div id="out"></div>
<script nonce="{{.Nonce}}">
document.getElementById('go').addEventListener('click', async () => {
  const out = document.getElementById('out');
  out.textContent = 'Issuing…';
  const r = await fetch('/v1/cards', {method: 'POST', headers: {'Authorization': 'Bearer ' + document.getElementById('token').value.trim(), 'Content-Type': 'application/fhir+json', 'Accept': 'application/json'}, body: document.getElementById('bundle').value});
  const body = await r.json();
  out.textContent = '';
  if (!r.ok) {
    const d = document.createElement('div'); d.className = 'err';
    d.textContent = r.status + ': ' + ((body.issue && body.issue[0].details && body.issue[0].details.text) || JSON.stringify(body));
    out.appendChild(d); return;
  }
  for (const c of body.cards) {
    const d = document.createElement('div'); d.className = 'card';
    const h = document.createElement('h3'); h.textContent = c.types.join(', '); d.appendChild(h);
    const img = document.createElement('img'); img.src = c.links.svg; img.alt = 'QR code'; d.appendChild(img);
    const ul = document.createElement('ul');
    for (const [k, v] of Object.entries(c.links)) { const li = document.createElement('li'); const a = document.createElement('a'); a.href = v; a.textContent = k; li.appendChild(a); ul.appendChild(li); }
    d.appendChild(ul); out.appendChild(d);
  }
});
</script></body></html>`))

// devPage is GET / in development mode: paste a bundle, see the cards.
func (s *server) devPage(c *echo.Context) error {
	n := nonce()
	var out bytes.Buffer
	if err := devTmpl.Execute(&out, map[string]any{"Nonce": n, "Iss": s.is.Iss(), "Sample": prettySample()}); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy",
		"default-src 'none'; script-src 'nonce-"+n+"'; style-src 'nonce-"+n+"'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, out.Bytes())
}

// prettySample is SampleBundle indented for reading in the text area.
func prettySample() string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(SampleBundle), "", "  ") != nil {
		return SampleBundle
	}
	return b.String()
}
