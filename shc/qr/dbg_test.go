package qr

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

func sharpen(g *image.Gray, amt int) *image.Gray {
	b := blur(blur(g))
	out := newGray(g.Rect.Dx(), g.Rect.Dy())
	for i, v := range g.Pix {
		x := int(v) + amt*(int(v)-int(b.Pix[i]))/10
		out.Pix[i] = uint8(min(255, max(0, x)))
	}
	return out
}

func TestDbgPhoto(t *testing.T) {
	c, _ := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	b := photoLike(t, c)
	img, _ := jpeg.Decode(bytes.NewReader(b))
	g := toGray(img)
	st := stretch(g)
	cands := map[string]*image.Gray{
		"sharpen10": sharpen(st, 10), "sharpen20": sharpen(st, 20), "sharpen30": sharpen(blur(st), 20),
		"up2": resize(st, 2800), "down1000": resize(st, 1000), "down700": resize(st, 700),
		"rot7": rotate(st, 7), "rot-7": rotate(st, -7),"up1.5": resize(st, 2100),
	}
	for name, im := range cands {
		r, err := attempt(im, false)
		t.Log(name, r != nil, err)
		r, err = attempt(im, true)
		t.Log(name, "global", r != nil, err)
	}
}
