package bulk

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
	"github.com/healthcards/healthcards/shl/shlqr"
	"github.com/healthcards/healthcards/terminology"
)

// QR rendering.
const (
	// pngScale is the pixels per QR module of PNG files (a version-22 code
	// with its quiet zone is 113 modules: 452 pixels).
	pngScale = 4
	// pdfQRMM is the printed side of the QR with its quiet zone: at 113
	// modules about 0.7 mm per module, read by phones at arm's length
	// (SIZE-1 asks for at least about 40 mm for version 22).
	pdfQRMM = 80.0
)

type outputs struct {
	cfg Config
	dir string
}

func newOutputs(cfg Config) *outputs { return &outputs{cfg: cfg, dir: cfg.Out} }

// write names the patient's files in res and writes them (unless the run
// keeps no files: the Manager renders them from the stored cards when they
// are downloaded, see renderFile).
func (o *outputs) write(res *Result, pid string, cards []store.IssuedCard) error {
	oc := o.cfg.Outputs
	for _, c := range cards {
		res.Cards = append(res.Cards, CardResult{ID: c.ID, Types: c.Types})
	}
	put := func(name string, render func() ([]byte, error)) error {
		if o.cfg.noFiles {
			return nil
		}
		b, err := render()
		if err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(o.dir, name), b)
	}
	if oc.Card {
		res.File = filepath.Join("cards", pid+".smart-health-card")
		if err := put(res.File, func() ([]byte, error) { return cardFile(cards) }); err != nil {
			return err
		}
	}
	if !oc.qr() {
		return nil
	}
	codes := make([]*qr.Code, len(cards))
	for i, c := range cards {
		code, err := o.code(c)
		if err != nil {
			return err
		}
		codes[i] = code
		name := filepath.Join("qr", fmt.Sprintf("%s-%d", pid, i+1))
		if oc.PNG {
			res.Cards[i].PNG = name + ".png"
			if err := put(res.Cards[i].PNG, func() ([]byte, error) { return pngOf(code) }); err != nil {
				return err
			}
		}
		if oc.SVG {
			res.Cards[i].SVG = name + ".svg"
			if err := put(res.Cards[i].SVG, func() ([]byte, error) { return svgOf(code) }); err != nil {
				return err
			}
		}
	}
	if oc.PDF {
		res.PDF = filepath.Join("pdf", pid+".pdf")
		if o.cfg.noFiles || oc.Link {
			return nil // written after the link (writeLink)
		}
		if err := put(res.PDF, func() ([]byte, error) { return o.pdf(cards, codes, nil) }); err != nil {
			return err
		}
	}
	return nil
}

// writeLink writes the link's QR (and the PDF, which ends with a page for
// the link) once the link exists.
func (o *outputs) writeLink(res *Result, cards []store.IssuedCard) error {
	if o.cfg.noFiles {
		return nil
	}
	b, err := linkPNG(res.Link.URI)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(o.dir, res.Link.QR), b); err != nil {
		return err
	}
	if res.PDF == "" {
		return nil
	}
	pdf, err := o.pdfOf(cards, res.Link)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(o.dir, res.PDF), pdf)
}

// renderFile renders the output file rel of a recorded result from the
// patient's stored cards: the Manager keeps no files, so any replica
// serves them. rel must be one of the names res gives.
func (o *outputs) renderFile(rel string, res Result, cards []store.IssuedCard) ([]byte, error) {
	switch {
	case rel == res.File:
		return cardFile(cards)
	case rel == res.PDF:
		return o.pdfOf(cards, res.Link)
	case res.Link != nil && rel == res.Link.QR:
		return linkPNG(res.Link.URI)
	}
	for i, c := range res.Cards {
		if i >= len(cards) || (rel != c.PNG && rel != c.SVG) {
			continue
		}
		code, err := o.code(cards[i])
		if err != nil {
			return nil, err
		}
		if rel == c.PNG {
			return pngOf(code)
		}
		return svgOf(code)
	}
	return nil, issuer.ErrNotFound
}

func (o *outputs) pdfOf(cards []store.IssuedCard, link *LinkResult) ([]byte, error) {
	codes := make([]*qr.Code, len(cards))
	for i, c := range cards {
		code, err := o.code(c)
		if err != nil {
			return nil, err
		}
		codes[i] = code
	}
	return o.pdf(cards, codes, link)
}

func (o *outputs) code(c store.IssuedCard) (*qr.Code, error) {
	text, err := shc.EncodeQRText(c.JWS)
	if err != nil {
		return nil, err
	}
	code, err := qr.Encode(text, qr.WithLevel(o.cfg.Issuer.QRLevel()))
	if err != nil {
		return nil, fmt.Errorf("bulk: QR of a stored card: %w", err)
	}
	return code, nil
}

func cardFile(cards []store.IssuedCard) ([]byte, error) {
	jws := make([]string, len(cards))
	for i, c := range cards {
		jws[i] = c.JWS
	}
	return shc.MarshalFile(jws...)
}

func pngOf(code *qr.Code) ([]byte, error) {
	var b bytes.Buffer
	err := code.PNG(&b, pngScale)
	return b.Bytes(), err
}

func svgOf(code *qr.Code) ([]byte, error) {
	var b bytes.Buffer
	err := code.SVG(&b)
	return b.Bytes(), err
}

// linkQRSize is the side of a link's QR PNG, as GET /v1/links/{id}/qr.png.
const linkQRSize = 512

func linkPNG(uri string) ([]byte, error) { return shlqr.PNG(uri, linkQRSize) }

// pdf renders one page per card: who (name, birth date), what (each result
// or dose in words, from the signed card itself), and the QR.
func (o *outputs) pdf(cards []store.IssuedCard, codes []*qr.Code, link *LinkResult) ([]byte, error) {
	size := "A4"
	if strings.EqualFold(o.cfg.Outputs.Paper, "letter") {
		size = "Letter"
	}
	pdf := fpdf.New("P", "mm", size, "")
	// No deflate: fpdf makes a new zlib writer (about 1.2 MB) per page
	// stream, and with the QR as an image mask a page is about 3 kB of
	// text (10 kB per PDF uncompressed, 6 kB deflated, at a fifth of the
	// cost; see BENCHMARKS.md).
	pdf.SetCompression(false)
	pdf.SetCreator("healthcards shc-issuer bulk", true)
	pdf.SetCreationDate(cards[0].IssuedAt)
	pdf.SetModificationDate(cards[0].IssuedAt)
	tr := cp1252
	pageW, _ := pdf.GetPageSize()
	issuerName := o.cfg.Outputs.IssuerName
	if issuerName == "" {
		issuerName = o.cfg.Issuer.Iss()
	}
	for i, c := range cards {
		pc, err := readCard(c.JWS)
		if err != nil {
			return nil, err
		}
		pdf.AddPage()
		pdf.SetFont("Helvetica", "B", 18)
		pdf.CellFormat(0, 10, tr("SMART Health Card"), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(0, 6, tr(fmt.Sprintf("Issued by %s on %s (card %d of %d)", issuerName, c.IssuedAt.UTC().Format("2 January 2006"), i+1, len(cards))), "", 1, "L", false, 0, "")
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "B", 14)
		pdf.CellFormat(0, 8, tr(pc.name), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 12)
		pdf.CellFormat(0, 7, tr("Date of birth: "+pc.birthDate), "", 1, "L", false, 0, "")
		pdf.Ln(3)
		for _, line := range pc.lines {
			pdf.MultiCell(0, 6, tr("- "+line), "", "L", false)
		}
		pdf.Ln(6)
		x := (pageW - pdfQRMM) / 2
		drawQR(pdf, codes[i], x, pdf.GetY(), pdfQRMM)
		pdf.SetY(pdf.GetY() + pdfQRMM + 4)
		pdf.SetFont("Helvetica", "", 9)
		pdf.MultiCell(0, 5, tr("Scan with a SMART Health Card verifier app. The QR code holds the signed card; the text above is for reading only."), "", "C", false)
	}
	if link != nil {
		// The link page: the same cards, shared as a SMART Health Link
		// (SHL-21: level M).
		code, err := qr.EncodeBytes(link.URI, qr.M)
		if err != nil {
			return nil, fmt.Errorf("bulk: QR of a link: %w", err)
		}
		pdf.AddPage()
		pdf.SetFont("Helvetica", "B", 18)
		pdf.CellFormat(0, 10, tr("SMART Health Link"), "", 1, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 11)
		exp := "it does not expire"
		if link.Exp != 0 {
			exp = "it works until " + time.Unix(link.Exp, 0).UTC().Format("2 January 2006")
		}
		pdf.MultiCell(0, 6, tr("The same cards as a link a health app or a clinic can open; "+exp+"."), "", "L", false)
		if link.Passcode != "" {
			pdf.SetFont("Helvetica", "B", 12)
			pdf.CellFormat(0, 8, tr("Passcode: "+link.Passcode), "", 1, "L", false, 0, "")
		}
		pdf.Ln(6)
		drawQR(pdf, code, (pageW-pdfQRMM)/2, pdf.GetY(), pdfQRMM)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("bulk: PDF: %w", err)
	}
	return b.Bytes(), nil
}

// drawQR draws the code with its 4-module quiet zone: a white square,
// then the modules as ONE 1-bit image mask, one sample per module, painted
// in black (ISO 32000-1 8.9.6.2), written inline as raw page content. /I
// false asks for no interpolation (the default, said explicitly): each
// module prints as a sharp square of exactly side/(size+8), with no
// anti-aliased edges, at any print resolution. This is a few hundred bytes
// where one rectangle per run of dark modules took 20 kB of page content
// (and the time to format and deflate it).
func drawQR(pdf *fpdf.Fpdf, c *qr.Code, x, y, side float64) {
	n := c.Size()
	m := side / float64(n+8)
	pdf.SetFillColor(255, 255, 255)
	pdf.Rect(x, y, side, side, "F")
	pdf.SetFillColor(0, 0, 0)
	k := pdf.GetConversionRatio()
	_, pageH := pdf.GetPageSize()
	s := float64(n) * m * k // the modules' side in points
	b := qrMaskBufs.Get().(*[]byte)
	buf := append((*b)[:0], "q "...)
	// The unit square of image space onto the modules (user space: points,
	// y up from the bottom of the page; image row 0 at the top).
	buf = strconv.AppendFloat(buf, s, 'f', 5, 64)
	buf = append(buf, " 0 0 "...)
	buf = strconv.AppendFloat(buf, s, 'f', 5, 64)
	buf = append(buf, ' ')
	buf = strconv.AppendFloat(buf, (x+4*m)*k, 'f', 5, 64)
	buf = append(buf, ' ')
	buf = strconv.AppendFloat(buf, (pageH-y-4*m)*k-s, 'f', 5, 64)
	buf = append(buf, " cm\nBI /IM true /W "...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, " /H "...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	// Samples of 0 are painted (Decode [0 1]); ASCIIHex keeps the content
	// stream text (no "EI" can appear inside binary data).
	buf = append(buf, " /I false /F /AHx ID\n"...)
	const digits = "0123456789abcdef"
	for row := 0; row < n; row++ {
		for col := 0; col < n; col += 8 {
			var v byte = 0xff
			for i := 0; i < 8 && col+i < n; i++ {
				if c.Dark(col+i, row) {
					v &^= 0x80 >> i
				}
			}
			buf = append(buf, digits[v>>4], digits[v&15])
		}
		buf = append(buf, '\n')
	}
	buf = append(buf, ">\nEI Q"...)
	pdf.RawWriteStr(string(buf))
	*b = buf
	qrMaskBufs.Put(b)
}

// qrMaskBufs holds drawQR's scratch buffers (a version-22 code's image is
// under 2 kB).
var qrMaskBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// cp1252 translates text to the code page of fpdf's core fonts as fpdf's
// own UnicodeTranslatorFromDescriptor("") does (runes it cannot print
// become '.'). It is built once per process, not once per document, and,
// unlike fpdf's translator (which shares one buffer between calls), is
// safe for the workers to use at the same time.
func cp1252(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	m := cp1252Map()
	out := make([]byte, 0, len(s))
	for _, r := range s {
		ch, ok := byte(r), r < 0x80
		if !ok {
			if ch, ok = m[r]; !ok {
				ch = '.'
			}
		}
		out = append(out, ch)
	}
	return string(out)
}

// cp1252Map is fpdf's cp1252 table (read from fpdf's own translator: every
// rune it maps lies below U+2200).
var cp1252Map = sync.OnceValue(func() map[rune]byte {
	tr := fpdf.New("P", "mm", "A4", "").UnicodeTranslatorFromDescriptor("")
	m := make(map[rune]byte, 128)
	for r := rune(0x80); r < 0x2200; r++ {
		if t := tr(string(r)); len(t) == 1 && t[0] >= 0x80 {
			m[r] = t[0]
		}
	}
	return m
})

// printedCard is what a PDF page says in words.
type printedCard struct {
	name, birthDate string
	lines           []string
}

// readCard reads the card this issuer just signed or stored (its own
// signature: no verification needed) for the words printed beside the QR.
func readCard(jws string) (printedCard, error) {
	var pc printedCard
	c, err := shc.Parse(jws)
	if err != nil {
		return pc, err
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(c.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle, &b); err != nil {
		return pc, err
	}
	orgs := map[string]string{} // "resource:N" -> Organization.name
	for i, e := range b.Entry {
		var o struct {
			ResourceType string `json:"resourceType"`
			Name         string `json:"name"`
		}
		if json.Unmarshal(e.Resource, &o) == nil && o.ResourceType == "Organization" && o.Name != "" {
			orgs[fmt.Sprintf("resource:%d", i)] = o.Name
		}
	}
	at := func(r fhirRes) string {
		for _, p := range r.Performer {
			ref := p.Reference
			if p.Actor != nil {
				ref = p.Actor.Reference
			}
			if n := orgs[ref]; n != "" {
				return ", " + n
			}
		}
		return ""
	}
	for _, e := range b.Entry {
		var r fhirRes
		if json.Unmarshal(e.Resource, &r) != nil {
			continue
		}
		switch r.ResourceType {
		case "Patient":
			if len(r.Name) > 0 {
				n := r.Name[0]
				pc.name = strings.TrimSpace(strings.Join(append(n.Given, n.Family), " "))
				if pc.name == "" {
					pc.name = n.Text
				}
			}
			pc.birthDate = dateWords(r.BirthDate)
		case "Immunization":
			pc.lines = append(pc.lines, fmt.Sprintf("Vaccine: %s, given %s%s%s", words(r.VaccineCode), dateWords(r.OccurrenceDateTime), at(r), lot(r.LotNumber)))
		case "Observation":
			pc.lines = append(pc.lines, fmt.Sprintf("%s: %s (%s%s)", words(r.Code), r.value(), dateWords(r.EffectiveDateTime), at(r)))
		case "DiagnosticReport":
			pc.lines = append(pc.lines, fmt.Sprintf("Report: %s (%s%s)", words(r.Code), dateWords(r.EffectiveDateTime), at(r)))
		}
	}
	if pc.name == "" {
		pc.name = "(no name on the card)"
	}
	if pc.birthDate == "" || pc.birthDate == "date not given" {
		pc.birthDate = "(not on the card)"
	}
	return pc, nil
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type concept struct {
	Coding []coding `json:"coding"`
}

type fhirRes struct {
	ResourceType string `json:"resourceType"`
	Name         []struct {
		Family string   `json:"family"`
		Given  []string `json:"given"`
		Text   string   `json:"text"`
	} `json:"name"`
	BirthDate          string  `json:"birthDate"`
	VaccineCode        concept `json:"vaccineCode"`
	Code               concept `json:"code"`
	OccurrenceDateTime string  `json:"occurrenceDateTime"`
	EffectiveDateTime  string  `json:"effectiveDateTime"`
	LotNumber          string  `json:"lotNumber"`
	ValueQuantity      *struct {
		Value json.Number `json:"value"`
		Unit  string      `json:"unit"`
		Code  string      `json:"code"`
	} `json:"valueQuantity"`
	ValueCodeableConcept *concept `json:"valueCodeableConcept"`
	ValueString          string   `json:"valueString"`
	Performer            []struct {
		Reference string `json:"reference"`
		Actor     *struct {
			Reference string `json:"reference"`
		} `json:"actor"`
	} `json:"performer"`
}

func (r fhirRes) value() string {
	switch {
	case r.ValueQuantity != nil:
		u := r.ValueQuantity.Unit
		if u == "" {
			u = r.ValueQuantity.Code
		}
		return strings.TrimSpace(r.ValueQuantity.Value.String() + " " + u)
	case r.ValueCodeableConcept != nil:
		return words(*r.ValueCodeableConcept)
	case r.ValueString != "":
		return r.ValueString
	}
	return "no value"
}

// words names a concept by the project's terminology table, else by its
// system and code.
func words(c concept) string {
	for _, cd := range c.Coding {
		if d := terminology.Display(cd.System, cd.Code); d != "" {
			return d
		}
	}
	if len(c.Coding) > 0 {
		cd := c.Coding[0]
		if n := terminology.SystemName(cd.System); n != "" {
			return n + " " + cd.Code
		}
		return cd.Code
	}
	return "(not coded)"
}

func dateWords(s string) string {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2 January 2006")
		}
	}
	if s == "" {
		return "date not given"
	}
	return s
}

func lot(s string) string {
	if s == "" {
		return ""
	}
	return ", lot " + s
}

func knownSystem(s string) bool { return terminology.SystemName(s) != "" }

// writeFileAtomic replaces path with b (0600) through a temporary file in
// the same directory: a kill leaves the old file or the new one, never a
// torn one. Durability comes from syncDir before the result line.
func writeFileAtomic(path string, b []byte) error {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+hex.EncodeToString(rnd[:]))
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
