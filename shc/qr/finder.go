package qr

import "image"

// A cheap finder-pattern pre-scan (ISO/IEC 18004 §6.3.3: the dark-light-
// dark-light-dark runs of 1:1:3:1:1 modules through a finder pattern's
// centre). The decode ladder runs it once on the working image and refuses
// an image in which no row holds such a run that a vertical run through
// its centre confirms: every rung of the ladder reads a symbol through the
// same finder patterns, so without a candidate none of them can succeed.
//
// It is deliberately more permissive than the detector: a local threshold
// per 8×8 block (the mean of the 5×5 blocks around it, as a hybrid
// binarizer does; nothing is dark where that neighbourhood is flat), either polarity (light-on-dark symbols), a wide ratio
// tolerance and a row step of 2 so a 1-pixel module's 3-pixel centre is
// still crossed. A false candidate only costs the ladder it would have
// run anyway.

const (
	finderBlock = binBlock
	// finderMinRange is the grey-level range below which a 5×5-block
	// neighbourhood is flat (a hybrid binarizer's minimum dynamic range):
	// sensor noise on a plain surface there makes no runs.
	finderMinRange = 24
)

// finderThresholds returns, per 8×8 block of g, the binarization
// threshold: the mean of the means of the 5×5 blocks around it, from the
// block statistics the hybrid binarizer uses (binarize.go).
func finderThresholds(st *blockStats) []uint8 {
	bw, bh := st.bw, st.bh
	th := make([]uint8, bw*bh)
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			sum, n, lo, hi := int32(0), int32(0), uint8(255), uint8(0)
			for yy := max(by-2, 0); yy <= min(by+2, bh-1); yy++ {
				for xx := max(bx-2, 0); xx <= min(bx+2, bw-1); xx++ {
					i := yy*bw + xx
					sum += st.sum[i]
					n++
					lo, hi = min(lo, st.lo[i]), max(hi, st.hi[i])
				}
			}
			if int(hi)-int(lo) < finderMinRange {
				continue // flat: nothing is dark here (threshold 0)
			}
			th[by*bw+bx] = uint8(sum / (64 * n))
		}
	}
	return th
}

// hasFinderCandidate reports whether g holds at least one place where a
// horizontal and a vertical run of five alternating runs in the ratio
// 1:1:3:1:1 (either polarity) cross at the centre. st is g's block
// statistics (newBlockStats), or nil.
func hasFinderCandidate(g *image.Gray, st *blockStats) bool {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w < binBlock || h < binBlock {
		return false
	}
	if st == nil {
		st = newBlockStats(g)
	}
	th, bw := finderThresholds(st), st.bw
	dark := func(x, y int) bool {
		return g.Pix[y*w+x] < th[(y/finderBlock)*bw+x/finderBlock]
	}
	var runs [5]int
	for y := 1; y < h; y += 2 {
		row, tr := g.Pix[y*w:(y+1)*w], th[(y/finderBlock)*bw:][:bw]
		n := 0 // runs filled so far
		runs = [5]int{}
		cur := row[0] < tr[0]
		runs[0] = 1
		n = 1
		for x := 1; x <= w; x++ {
			var d bool
			if x < w {
				d = row[x] < tr[x/finderBlock]
			}
			if x < w && d == cur {
				runs[n-1]++
				continue
			}
			// A run ended at x-1.
			if n == 5 {
				if finderRatio(runs) {
					cx := x - runs[4] - runs[3] - runs[2]/2 - 1
					if crossVertical(h, cx, y, runs[2], dark) {
						return true
					}
				}
				copy(runs[:], runs[1:])
				runs[4] = 0
				n = 4
			}
			n++
			runs[n-1] = 1
			cur = d
		}
	}
	return false
}

// finderRatio reports whether five run lengths are close to 1:1:3:1:1:
// the outer runs within 3/4 of a module of the estimate (the detector
// allows 1/2), the centre within 3/2 modules (as the detector).
func finderRatio(r [5]int) bool {
	total := r[0] + r[1] + r[2] + r[3] + r[4]
	if total < 7 {
		return false
	}
	// Scaled by 28 = 4·7 to stay in integers: one module is 4·total.
	m := total * 4
	tol := m * 3 / 4 // outer runs: within 3/4 of a module
	for i, v := range r {
		d := v*28 - m
		if i == 2 {
			d -= 2 * m
			tol = m * 3 / 2 // centre: within 3/2 modules, as the detector
		}
		if d < -tol || d > tol {
			return false
		}
		tol = m * 3 / 4
	}
	return true
}

// crossVertical checks the column through (cx, cy) for five runs in the
// ratio 1:1:3:1:1 centred near cy, the centre run about as long as the
// horizontal one (within a factor of two).
func crossVertical(h, cx, cy, center int, dark func(x, y int) bool) bool {
	c := dark(cx, cy)
	var r [5]int
	// Up from cy: centre, then two more runs.
	y := cy
	for y >= 0 && dark(cx, y) == c {
		r[2]++
		y--
	}
	for i, want := 1, !c; i >= 0; i, want = i-1, !want {
		for y >= 0 && dark(cx, y) == want {
			r[i]++
			y--
		}
		if r[i] == 0 {
			return false
		}
	}
	y = cy + 1
	for y < h && dark(cx, y) == c {
		r[2]++
		y++
	}
	for i, want := 3, !c; i <= 4; i, want = i+1, !want {
		for y < h && dark(cx, y) == want {
			r[i]++
			y++
		}
		if r[i] == 0 {
			return false
		}
	}
	if r[2] > 2*center+2 || 2*r[2]+2 < center {
		return false
	}
	return finderRatio(r)
}
