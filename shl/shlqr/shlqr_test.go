package shlqr

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/internal/testvectors"
	"github.com/healthcards/healthcards/shl"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func decode(t *testing.T, b []byte) *gozxing.Result {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// SHL-21: the QR decodes to the same text and uses error correction M.
func TestPNG_SHL21_RoundTripLevelM(t *testing.T) {
	uri := strings.TrimSpace(string(testvectors.Read(t, "hl7-ig/input/images/IPS_IG-bundle-01-shl.txt")))
	b, err := PNG(uri, 0)
	if err != nil {
		t.Fatal(err)
	}
	res := decode(t, b)
	if res.GetText() != uri {
		t.Fatalf("decoded %q", res.GetText())
	}
	if ecl := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; ecl != "M" {
		t.Fatalf("error correction %v, want M", ecl)
	}
}

func TestPNG_Refusals(t *testing.T) {
	p, _ := shl.NewPayload("https://x.example/m")
	if _, err := PNG(p.URI(""), 10); shl.CodeOf(err) != shl.CodeInvalidArgument {
		t.Fatal(err)
	}
	if _, err := PNG("https://example.org/not-a-link", 0); shl.CodeOf(err) != shl.CodeMalformedLink {
		t.Fatal(err)
	}
}
