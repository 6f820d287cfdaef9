package qr

import (
	"encoding/binary"
	"image"
	"image/color"
	"math"
)

// Small grayscale image operations for the decode ladder. Every function
// returns a new *image.Gray whose Rect starts at (0,0) with Stride == width.

func newGray(w, h int) *image.Gray { return image.NewGray(image.Rect(0, 0, w, h)) }

// toGray converts any image to 8-bit luminance, compositing transparent
// pixels onto white (a QR drawn on a transparent background reads as dark
// on light). Common types take fast paths.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	g := newGray(w, h)
	switch src := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(g.Pix[y*w:(y+1)*w], src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			copy(g.Pix[y*w:(y+1)*w], src.Y[src.YOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			p := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				r, gg, bb, a := uint32(p[4*x]), uint32(p[4*x+1]), uint32(p[4*x+2]), uint32(p[4*x+3])
				lum := (299*r + 587*gg + 114*bb) / 1000
				g.Pix[y*w+x] = uint8((lum*a + 255*(255-a)) / 255)
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			p := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				r, gg, bb, a := uint32(p[4*x]), uint32(p[4*x+1]), uint32(p[4*x+2]), uint32(p[4*x+3])
				lum := (299*r + 587*gg + 114*bb) / 1000 // premultiplied
				g.Pix[y*w+x] = uint8(min(255, lum+255-a))
			}
		}
	case *image.Paletted:
		var lut [256]uint8
		for i, c := range src.Palette {
			lut[i] = grayOnWhite(c)
		}
		for y := 0; y < h; y++ {
			p := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				g.Pix[y*w+x] = lut[p[x]]
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.Pix[y*w+x] = grayOnWhite(img.At(b.Min.X+x, b.Min.Y+y))
			}
		}
	}
	return g
}

func grayOnWhite(c color.Color) uint8 {
	r, gg, b, a := c.RGBA() // premultiplied, 16-bit
	lum := (299*r + 587*gg + 114*b) / 1000
	return uint8(min(0xffff, lum+0xffff-a) >> 8)
}

// workingImage is img as the grayscale image the ladder works on, at most
// workLongSide on its longer side. A JPEG's luminance plane (and a grey
// image) is used in place: no copy at full size, only the downscaled one,
// so a 12-megapixel photo costs its decoded planes plus the working size.
func workingImage(img image.Image) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var view *image.Gray
	switch src := img.(type) {
	case *image.YCbCr:
		view = &image.Gray{Pix: src.Y[src.YOffset(b.Min.X, b.Min.Y):], Stride: src.YStride, Rect: image.Rect(0, 0, w, h)}
	case *image.Gray:
		view = &image.Gray{Pix: src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], Stride: src.Stride, Rect: image.Rect(0, 0, w, h)}
	}
	if max(w, h) > workLongSide {
		if view == nil {
			view = toGray(img)
		}
		return resize(view, workLongSide)
	}
	if view != nil && view.Stride == w && len(view.Pix) >= w*h {
		view.Pix = view.Pix[:w*h] // the ladder only reads its base image
		return view
	}
	return toGray(img)
}

// resize scales g so that its longer side is long pixels: area averaging
// when shrinking (g may have Stride > width), bilinear interpolation when
// enlarging.
func resize(g *image.Gray, long int) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	f := float64(long) / float64(max(w, h))
	nw, nh := max(1, int(math.Round(float64(w)*f))), max(1, int(math.Round(float64(h)*f)))
	out := newGray(nw, nh)
	if f < 1 {
		// Box filter: average every source pixel whose centre falls in the
		// destination pixel. The source rows of a destination row are summed
		// into one row of column sums first, then spans of it are added:
		// about two additions per source pixel.
		xs := make([]int, nw+1)
		for x := 0; x <= nw; x++ {
			xs[x] = x * w / nw
		}
		cols := make([]uint32, w)
		for y := 0; y < nh; y++ {
			y0, y1 := y*h/nh, max((y+1)*h/nh, y*h/nh+1)
			clear(cols)
			for yy := y0; yy < y1; yy++ {
				row := g.Pix[yy*g.Stride:][:w] // g may be a view (workingImage)
				for x, v := range row {
					cols[x] += uint32(v)
				}
			}
			o := out.Pix[y*nw:][:nw]
			for x := range o {
				x0, x1 := xs[x], max(xs[x+1], xs[x]+1)
				var sum uint32
				for _, v := range cols[x0:x1] {
					sum += v
				}
				o[x] = uint8(sum / (uint32(y1-y0) * uint32(x1-x0)))
			}
		}
		return out
	}
	for y := 0; y < nh; y++ {
		sy := (float64(y)+0.5)/f - 0.5
		for x := 0; x < nw; x++ {
			sx := (float64(x)+0.5)/f - 0.5
			out.Pix[y*nw+x] = bilinear(g, sx, sy, 255)
		}
	}
	return out
}

// bilinear samples g at (x, y), returning fill outside the image.
func bilinear(g *image.Gray, x, y float64, fill uint8) uint8 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if x < -0.5 || y < -0.5 || x > float64(w)-0.5 || y > float64(h)-0.5 {
		return fill
	}
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(xx, yy int) float64 {
		xx = min(max(xx, 0), w-1)
		yy = min(max(yy, 0), h-1)
		return float64(g.Pix[yy*w+xx])
	}
	v := (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
	return uint8(math.Round(v))
}

// stretch maps the 1st..99th percentile of luminance onto 0..255, which
// undoes low contrast and a grey cast.
func stretch(g *image.Gray) *image.Gray {
	var hist [256]int
	for _, v := range g.Pix {
		hist[v]++
	}
	n := len(g.Pix)
	lo, hi := 0, 255
	for acc := 0; lo < 255; lo++ {
		if acc += hist[lo]; acc > n/100 {
			break
		}
	}
	for acc := 0; hi > 0; hi-- {
		if acc += hist[hi]; acc > n/100 {
			break
		}
	}
	out := newGray(g.Rect.Dx(), g.Rect.Dy())
	if hi-lo < 8 { // flat image: nothing to stretch
		copy(out.Pix, g.Pix)
		return out
	}
	var lut [256]uint8
	for i := range lut {
		v := (i - lo) * 255 / (hi - lo)
		lut[i] = uint8(min(max(v, 0), 255))
	}
	for i, v := range g.Pix {
		out.Pix[i] = lut[v]
	}
	return out
}

// blur is a 3×3 box blur (edges clamped); it smooths sensor noise and JPEG
// blocking before binarization.
//
// Eight pixels are done at once (SWAR): the column sums of even and odd
// pixels in four 16-bit lanes each, the 3-wide horizontal sums by shifting
// lanes, and the division by 9 as a multiplication in 32-bit lanes
// (⌊m·7282/2¹⁶⌋ = ⌊m/9⌋ for every m ≤ 2303). A row's last w mod 8 pixels
// are done one by one.
func blur(g *image.Gray) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := newGray(w, h)
	const (
		m8  = 0x00ff00ff00ff00ff
		m16 = 0x0000ffff0000ffff
		r4  = 0x0004000400040004 // rounding: +4 in each 16-bit lane
	)
	div9 := func(s uint64) uint64 { // four 16-bit lanes ≤ 2303 → ⌊lane/9⌋
		lo := (s & m16 * 7282 >> 16) & m16
		hi := (s >> 16 & m16 * 7282 >> 16) & m16
		return lo | hi<<16
	}
	nb := w / 8
	for y := 0; y < h; y++ {
		a, b, c := g.Pix[max(y-1, 0)*w:][:w], g.Pix[y*w:][:w], g.Pix[min(y+1, h-1)*w:][:w]
		o := out.Pix[y*w:][:w]
		// colSum is the column sum at x (clamped to the image).
		colSum := func(x int) uint64 {
			x = min(max(x, 0), w-1)
			return uint64(a[x]) + uint64(b[x]) + uint64(c[x])
		}
		if nb > 0 {
			sums := func(k int) (even, odd uint64) {
				va := binary.LittleEndian.Uint64(a[8*k:])
				vb := binary.LittleEndian.Uint64(b[8*k:])
				vc := binary.LittleEndian.Uint64(c[8*k:])
				return va&m8 + vb&m8 + vc&m8, va>>8&m8 + vb>>8&m8 + vc>>8&m8
			}
			lo, hi := sums(0)
			prevHi := lo << 48 // column -1 is column 0
			for k := 0; k < nb; k++ {
				var nextLo uint64
				var nlo, nhi uint64
				if k+1 < nb {
					nlo, nhi = sums(k + 1)
					nextLo = nlo
				} else {
					nextLo = colSum(8 * nb) // column w is column w-1
				}
				even := lo + hi + (hi<<16 | prevHi>>48) + r4
				odd := hi + lo + (lo>>16 | nextLo<<48) + r4
				binary.LittleEndian.PutUint64(o[8*k:], div9(even)|div9(odd)<<8)
				prevHi, lo, hi = hi, nlo, nhi
			}
		}
		for x := 8 * nb; x < w; x++ {
			o[x] = uint8((colSum(x-1) + colSum(x) + colSum(x+1) + 4) / 9)
		}
	}
	return out
}

// sharpen is an unsharp mask (amount 1, radius ~1.4 px): it restores the
// module edges that focus blur and JPEG smoothing wash out, which otherwise
// make the detector misjudge the module size from the finder patterns.
func sharpen(g *image.Gray) *image.Gray { return unsharp(g, blur(blur(g))) }

// unsharp is 2g - soft, clamped: sharpen with soft = blur(blur(g)) given.
func unsharp(g, soft *image.Gray) *image.Gray {
	out := newGray(g.Rect.Dx(), g.Rect.Dy())
	sp := soft.Pix[:len(g.Pix)]
	for i, v := range g.Pix {
		x := 2*int(v) - int(sp[i])
		out.Pix[i] = uint8(min(255, max(0, x)))
	}
	return out
}

// rotate turns g by deg degrees (counter-clockwise on screen) about its
// centre onto a canvas large enough to hold all of it, filling with white.
// Source coordinates advance incrementally in 16.16 fixed point and are
// sampled bilinearly.
func rotate(g *image.Gray, deg float64) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	s, c := math.Sincos(deg * math.Pi / 180)
	nw := int(math.Ceil(math.Abs(float64(w)*c) + math.Abs(float64(h)*s)))
	nh := int(math.Ceil(math.Abs(float64(w)*s) + math.Abs(float64(h)*c)))
	out := newGray(nw, nh)
	cx, cy := float64(w)/2, float64(h)/2
	ncx, ncy := float64(nw)/2, float64(nh)/2
	const one = 1 << 16
	dxs, dys := int64(math.Round(c*one)), int64(math.Round(s*one)) // per output x step
	maxX, maxY := int64(w-1)*one, int64(h-1)*one
	pix := g.Pix
	for y := 0; y < nh; y++ {
		dy := float64(y) + 0.5 - ncy
		dx := 0.5 - ncx
		// Inverse rotation back into the source, at x = 0 of this row.
		sx := int64(math.Round((c*dx - s*dy + cx - 0.5) * one))
		sy := int64(math.Round((s*dx + c*dy + cy - 0.5) * one))
		row := out.Pix[y*nw : (y+1)*nw]
		for x := range row {
			if sx < 0 || sy < 0 || sx > maxX || sy > maxY {
				row[x] = 255
			} else {
				x0, y0 := int(sx>>16), int(sy>>16)
				fx, fy := sx&(one-1), sy&(one-1)
				i := y0*w + x0
				x1, y1 := 1, w
				if x0 == w-1 {
					x1 = 0
				}
				if y0 == h-1 {
					y1 = 0
				}
				a, b := int64(pix[i]), int64(pix[i+x1])
				cc, d := int64(pix[i+y1]), int64(pix[i+y1+x1])
				top := a*one + (b-a)*fx
				bot := cc*one + (d-cc)*fx
				row[x] = uint8((top*one + (bot-top)*fy + 1<<31) >> 32)
			}
			sx += dxs
			sy += dys
		}
	}
	return out
}

// invert swaps light and dark (for light-on-dark QR codes).
func invert(g *image.Gray) *image.Gray {
	out := newGray(g.Rect.Dx(), g.Rect.Dy())
	for i, v := range g.Pix {
		out.Pix[i] = 255 - v
	}
	return out
}
