package qr

import (
	"math/rand/v2"
	"testing"
)

// blur against its definition: the rounded mean of the 3×3 neighbourhood,
// edges clamped (each out-of-image neighbour is the nearest edge pixel).
func TestBlurMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, wh := range [][2]int{{1, 1}, {1, 5}, {5, 1}, {2, 2}, {8, 3}, {9, 2}, {16, 1}, {17, 9}, {64, 48}, {255, 7}} {
		w, h := wh[0], wh[1]
		g := newGray(w, h)
		for i := range g.Pix {
			g.Pix[i] = uint8(r.IntN(256))
		}
		got := blur(g)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sum := 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := min(max(x+dx, 0), w-1), min(max(y+dy, 0), h-1)
						sum += int(g.Pix[yy*w+xx])
					}
				}
				if want := uint8((sum + 4) / 9); got.Pix[y*w+x] != want {
					t.Fatalf("%d×%d at (%d,%d): got %d, want %d", w, h, x, y, got.Pix[y*w+x], want)
				}
			}
		}
	}
}
