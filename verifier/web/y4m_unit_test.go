package web_test

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func TestWriteY4M(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 2, 2))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(0, 0, color.Black)
	var buf bytes.Buffer
	if err := writeY4M(&buf, img, 4, 2, 2); err != nil {
		t.Fatal(err)
	}
	hdr := "YUV4MPEG2 W4 H2 F10:1 Ip A1:1 C420jpeg\n"
	frame := 6 + 4*2 + 2*(4/2)*(2/2) // "FRAME\n" + Y + U + V
	if !bytes.HasPrefix(buf.Bytes(), []byte(hdr)) || buf.Len() != len(hdr)+2*frame {
		t.Fatalf("size %d, want %d: %q", buf.Len(), len(hdr)+2*frame, buf.Bytes())
	}
	y := buf.Bytes()[len(hdr)+6:]
	// the 2×2 image is centred at x=1..2 on the 4×2 canvas: (1,0) is black
	if y[0] != 0xff || y[1] != 0 || y[2] != 0xff || y[5] != 0xff || y[8] != 128 || y[11] != 128 {
		t.Fatalf("planes wrong: % x", y[:10])
	}
	if err := writeY4M(&buf, img, 3, 2, 1); err == nil {
		t.Fatal("odd width accepted")
	}
}
