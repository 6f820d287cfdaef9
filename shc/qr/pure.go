package qr

import (
	"errors"
	"math"

	"github.com/makiuchi-d/gozxing"
)

var errNotPure = errors.New("not a clean, upright symbol")

// pureBits reads the module grid of a clean render — an upright symbol on a
// quiet zone, as the project's own PNG and SVG renders are — straight from
// the binarized image: the dark bounding box is the symbol, and the
// top-left finder pattern (7 modules across) gives the module size. The
// finder-pattern detector can take a run of data modules for a finder in
// such an image and sample outside it; this needs no detection at all. A
// photo fails its checks (size, square, version grid) and the detector's
// answer stands.
func pureBits(img *gozxing.BitMatrix) (*gozxing.BitMatrix, error) {
	tl, br := img.GetTopLeftOnBit(), img.GetBottomRightOnBit()
	if tl == nil || br == nil {
		return nil, errNotPure
	}
	// The last dark pixel is in the bottom row (the bottom-left finder's),
	// not always in the last column: a symbol is square, so its right edge
	// is as far from the left as its bottom is from the top.
	left, top, bottom := tl[0], tl[1], br[1]
	right := left + (bottom - top)
	if bottom <= top || right >= img.GetWidth() {
		return nil, errNotPure
	}
	// Walk the diagonal from the top-left corner through the finder
	// pattern: dark 1, light 1, dark 3, light 1, dark 1 — five changes end
	// it, 7 modules after the start.
	x, y, changes, dark := left, top, 0, true
	for x < img.GetWidth() && y < img.GetHeight() && changes < 5 {
		if img.Get(x, y) != dark {
			dark = !dark
			changes++
			if changes == 5 {
				break
			}
		}
		x++
		y++
	}
	if changes != 5 {
		return nil, errNotPure
	}
	module := float64(x-left) / 7
	if module < 1 {
		return nil, errNotPure
	}
	w := int(math.Round(float64(right-left+1) / module))
	h := int(math.Round(float64(bottom-top+1) / module))
	if w != h || w < 21 || w > 177 || (w-17)%4 != 0 {
		return nil, errNotPure
	}
	bits, err := gozxing.NewSquareBitMatrix(w)
	if err != nil {
		return nil, err
	}
	half := module / 2
	for j := range w {
		py := top + int(half+float64(j)*module)
		if py > bottom {
			return nil, errNotPure
		}
		for i := range w {
			px := left + int(half+float64(i)*module)
			if px > right {
				return nil, errNotPure
			}
			if img.Get(px, py) {
				bits.Set(i, j)
			}
		}
	}
	return bits, nil
}
