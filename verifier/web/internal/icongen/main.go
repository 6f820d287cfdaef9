// Command icongen draws the scanning page's app icons (a white check mark
// on a green rounded square, the colours of the "Verified" verdict) as PNG
// files of 192 and 512 pixels in static/icons. Run it with go generate in
// verifier/web; the SVG icon next to them is written by hand.
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

func main() {
	for _, n := range []int{192, 512} {
		if err := write(filepath.Join("static", "icons", fmt.Sprintf("icon-%d.png", n)), draw(n)); err != nil {
			fmt.Fprintln(os.Stderr, "icongen:", err)
			os.Exit(1)
		}
	}
}

// draw renders the icon at n×n with 4×4 supersampling per pixel.
func draw(n int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	green := [3]float64{0x0b, 0x6b, 0x2e}
	// The check mark, in units of the icon's size.
	pts := [][2]float64{{0.27, 0.52}, {0.43, 0.68}, {0.74, 0.35}}
	const ss = 4
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			var bg, fg float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					u := (float64(x) + (float64(sx)+0.5)/ss) / float64(n)
					v := (float64(y) + (float64(sy)+0.5)/ss) / float64(n)
					if inRounded(u, v, 0.18) {
						bg++
						if nearPolyline(u, v, pts) < 0.055 {
							fg++
						}
					}
				}
			}
			bg /= ss * ss
			fg /= ss * ss
			// Green where the square is, white over it where the mark is.
			r := green[0]*(bg-fg) + 255*fg
			g := green[1]*(bg-fg) + 255*fg
			b := green[2]*(bg-fg) + 255*fg
			a := bg
			if a > 0 {
				r, g, b = r/a, g/a, b/a
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(math.Round(r)), uint8(math.Round(g)), uint8(math.Round(b)), uint8(math.Round(a * 255))})
		}
	}
	return img
}

// inRounded reports whether (u, v) lies in the unit square with corners
// rounded by radius rad.
func inRounded(u, v, rad float64) bool {
	cx := math.Max(rad, math.Min(1-rad, u))
	cy := math.Max(rad, math.Min(1-rad, v))
	return (u-cx)*(u-cx)+(v-cy)*(v-cy) <= rad*rad
}

func nearPolyline(u, v float64, pts [][2]float64) float64 {
	d := math.Inf(1)
	for i := 0; i+1 < len(pts); i++ {
		d = math.Min(d, segDist(u, v, pts[i], pts[i+1]))
	}
	return d
}

func segDist(u, v float64, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := ((u-a[0])*dx + (v-a[1])*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	px, py := a[0]+t*dx-u, a[1]+t*dy-v
	return math.Hypot(px, py)
}

func write(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
