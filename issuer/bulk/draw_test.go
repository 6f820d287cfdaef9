package bulk

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"

	"github.com/healthcards/healthcards/shc/qr"
)

// drawQR writes the code as one 1-bit image mask: rendered (pdftoppm) on
// A4 and US Letter, below some text as on a card page, every module and the
// quiet zone land where they should (sampled at each module's centre), the
// modules print crisp (no interpolation: no grey pixels, where the
// anti-aliased edges of vector rectangles gave 11 % at 150 dpi) and the
// project's decoder reads the text back.
func TestDrawQRModules(t *testing.T) {
	pdftoppm, err := exec.LookPath("pdftoppm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftoppm (poppler-utils) is required in CI")
		}
		t.Skip("pdftoppm (poppler-utils) is not installed")
	}
	// 1195 characters: the largest card QR (version 22, SIZE-3).
	text := "shc:/" + strings.Repeat("5676290952432060346029243740446031222959532654603460292540772804336028702865", 16)[:1190]
	code, err := qr.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	const dpi = 150
	for _, paper := range []string{"A4", "Letter"} {
		pdf := fpdf.New("P", "mm", paper, "")
		pdf.AddPage()
		pdf.SetFont("Helvetica", "", 12)
		pdf.MultiCell(0, 6, cp1252("Some words above the code: Zoë, 5 µg"), "", "L", false)
		pageW, _ := pdf.GetPageSize()
		x, y := (pageW-pdfQRMM)/2, pdf.GetY()+3.3
		drawQR(pdf, code, x, y, pdfQRMM)
		var b bytes.Buffer
		if err := pdf.Output(&b); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "p.pdf"), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		prefix := filepath.Join(dir, "p")
		if msg, err := exec.Command(pdftoppm, "-r", fmt.Sprint(dpi), "-gray", "-png", "-singlefile", filepath.Join(dir, "p.pdf"), prefix).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v\n%s", err, msg)
		}
		data, err := os.ReadFile(prefix + ".png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		n := code.Size()
		m := pdfQRMM / float64(n+8)
		px := func(mm float64) int { return int(mm / 25.4 * dpi) }
		bad, grey, all := 0, 0, 0
		for row := -4; row < n+4; row++ {
			for col := -4; col < n+4; col++ {
				cx, cy := px(x+(float64(col+4)+0.5)*m), px(y+(float64(row+4)+0.5)*m)
				r, _, _, _ := img.At(cx, cy).RGBA()
				dark := col >= 0 && row >= 0 && col < n && row < n && code.Dark(col, row)
				if got := r < 0x8000; got != dark {
					bad++
				}
			}
		}
		for py := px(y); py < px(y+pdfQRMM); py++ {
			for qx := px(x); qx < px(x+pdfQRMM); qx++ {
				all++
				if r, _, _, _ := img.At(qx, py).RGBA(); r > 0x1000 && r < 0xf000 {
					grey++
				}
			}
		}
		if grey*200 > all {
			t.Errorf("%s: %d of %d pixels of the QR grey: not crisp", paper, grey, all)
		}
		if bad != 0 {
			t.Errorf("%s: %d of %d modules rendered wrong", paper, bad, (n+8)*(n+8))
		}
		back, err := qr.DecodeBytes(data)
		if err != nil || back != text {
			t.Fatalf("%s: read back %d chars (%v), want %d", paper, len(back), err, len(text))
		}
	}
}
