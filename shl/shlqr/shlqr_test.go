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

// Every size in range gives exactly that size (the symbol centred), and
// the code reads back.
func TestPNG_Sizes(t *testing.T) {
	p, _ := shl.NewPayload("https://x.example/m")
	uri := p.URI("")
	for _, size := range []int{MinSize, 100, 333, MaxSize} {
		b, err := PNG(uri, size)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got := img.Bounds().Dx(); got != size && !(size == MinSize && got > size) {
			t.Fatalf("size %d: image is %d wide", size, got)
		}
		if res := decode(t, b); res.GetText() != uri {
			t.Fatalf("size %d: decoded %q", size, res.GetText())
		}
	}
}
