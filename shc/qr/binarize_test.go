package qr

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// gozxingMatrix binarizes g with gozxing's own binarizers.
func gozxingMatrix(t *testing.T, g *image.Gray, global bool) (*gozxing.BitMatrix, error) {
	t.Helper()
	w, h := g.Rect.Dx(), g.Rect.Dy()
	pix := make([]byte, w*h)
	for y := 0; y < h; y++ {
		copy(pix[y*w:(y+1)*w], g.Pix[y*g.Stride:])
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(pix, w, h, 0, 0, w, h, false)
	if err != nil {
		t.Fatal(err)
	}
	var bin gozxing.Binarizer = gozxing.NewHybridBinarizer(src)
	if global {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	}
	return bin.GetBlackMatrix()
}

// Our binarizers give gozxing's bit matrices, bit for bit, on photos,
// derived ladder images, odd sizes (partial blocks), small images (the
// hybrid binarizer's global fallback) and flat images (no black point).
func TestBinarizersMatchGozxing(t *testing.T) {
	c, err := Encode(readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var imgs []*image.Gray
	set := photoSet(t, photoSeed, photoCount)
	for _, i := range []int{0, 2, 3, 13} {
		img, err := jpeg.Decode(bytes.NewReader(set[i].render(t, c, uint64(i))))
		if err != nil {
			t.Fatal(err)
		}
		g := workingImage(img)
		imgs = append(imgs, g, blur(stretch(g)), resize(g, 301))
	}
	pl, err := jpeg.Decode(bytes.NewReader(photoLike(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	imgs = append(imgs, workingImage(pl), sharpen(stretch(workingImage(pl))), toGray(c.mustImage(t, 3)))
	r := rand.New(rand.NewPCG(7, 7))
	for _, wh := range [][2]int{{41, 40}, {40, 57}, {39, 90}, {123, 77}, {8, 8}, {3, 200}, {1, 1}, {517, 389}} {
		g := newGray(wh[0], wh[1])
		for i := range g.Pix {
			g.Pix[i] = uint8(r.IntN(256))
			if (i/7)%3 == 0 {
				g.Pix[i] /= 4
			}
		}
		imgs = append(imgs, g)
	}
	flat := newGray(64, 64)
	for i := range flat.Pix {
		flat.Pix[i] = 200
	}
	imgs = append(imgs, flat)
	view := toGray(c.mustImage(t, 2)) // a view with Stride > width
	view = view.SubImage(image.Rect(3, 5, view.Rect.Dx()-2, view.Rect.Dy()-1)).(*image.Gray)
	imgs = append(imgs, &image.Gray{Pix: view.Pix, Stride: view.Stride, Rect: image.Rect(0, 0, view.Rect.Dx(), view.Rect.Dy())})
	for n, g := range imgs {
		for _, global := range []bool{false, true} {
			want, werr := gozxingMatrix(t, g, global)
			var got *gozxing.BitMatrix
			var gerr error
			if global {
				got, gerr = globalMatrix(g)
			} else {
				got, gerr = hybridMatrix(g, nil)
			}
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("image %d (%v, global=%v): gozxing error %v, ours %v", n, g.Rect.Size(), global, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if d := diffBits(want, got); d != "" {
				t.Fatalf("image %d (%v, global=%v): %s", n, g.Rect.Size(), global, d)
			}
		}
	}
}

func diffBits(a, b *gozxing.BitMatrix) string {
	if a.GetWidth() != b.GetWidth() || a.GetHeight() != b.GetHeight() {
		return "sizes differ"
	}
	for y := 0; y < a.GetHeight(); y++ {
		for x := 0; x < a.GetWidth(); x++ {
			if a.Get(x, y) != b.Get(x, y) {
				return fmt.Sprintf("first difference at (%d,%d)", x, y)
			}
		}
	}
	return ""
}
