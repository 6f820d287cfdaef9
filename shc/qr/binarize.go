package qr

import (
	"encoding/binary"
	"image"

	"github.com/makiuchi-d/gozxing"
)

// The two binarizers of the decode ladder, written for 8-bit grey images
// and producing the same bit matrix as gozxing's HybridBinarizer and
// GlobalHistogramBinarizer (TestBinarizersMatchGozxing compares them bit
// for bit), at a fraction of the instructions: whole 32-pixel words
// instead of one Set call per dark pixel, and block statistics that the
// finder pre-scan shares with the hybrid binarizer of the same image.

const (
	binBlock    = 8  // gozxing BLOCK_SIZE
	binMinDim   = 40 // gozxing MINIMUM_DIMENSION: below it the hybrid binarizer is the global one
	binMinRange = 24 // gozxing MIN_DYNAMIC_RANGE
)

// blockStats holds, per 8×8 block of an image, the sum, minimum and
// maximum of its pixels. Blocks are laid out as the hybrid binarizer's: the
// last block of a row or column is moved inside the image (it overlaps its
// neighbour) when a side is not a multiple of 8. Images smaller than 8
// pixels on a side have none (bw or bh is 0).
type blockStats struct {
	bw, bh         int
	sum            []int32
	lo, hi         []uint8
	w, h           int
	maxXOff, maxYO int
}

func newBlockStats(g *image.Gray) *blockStats {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	s := &blockStats{w: w, h: h, maxXOff: w - binBlock, maxYO: h - binBlock}
	if w < binBlock || h < binBlock {
		return s
	}
	s.bw, s.bh = (w+binBlock-1)/binBlock, (h+binBlock-1)/binBlock
	n := s.bw * s.bh
	s.sum = make([]int32, n)
	s.lo = make([]uint8, n)
	s.hi = make([]uint8, n)
	const H = 0x80 * lanes
	mins := make([]uint64, s.bw)
	maxs := make([]uint64, s.bw)
	sums := make([]uint64, s.bw)
	for by := 0; by < s.bh; by++ {
		y0 := min(by*binBlock, s.maxYO)
		for i := range mins {
			mins[i], maxs[i], sums[i] = ^uint64(0), 0, 0
		}
		for y := y0; y < y0+binBlock; y++ {
			row := g.Pix[y*g.Stride:][:w]
			for bx := range sums {
				// Eight pixels at once, one byte lane each.
				v := binary.LittleEndian.Uint64(row[min(bx*binBlock, s.maxXOff):])
				// Lane-wise minimum and maximum (minMax8, written out: the
				// compiler does not inline it).
				lo, hi := mins[bx], maxs[bx]
				t := (v | H) - (lo &^ H)
				m := (v&^lo | ^(v^lo)&t) & H >> 7 * 0xff // lanes where v >= lo
				mins[bx] = lo&m | v&^m
				t = (v | H) - (hi &^ H)
				m = (v&^hi | ^(v^hi)&t) & H >> 7 * 0xff // lanes where v >= hi
				maxs[bx] = v&m | hi&^m
				sums[bx] += v&0x00ff00ff00ff00ff + v>>8&0x00ff00ff00ff00ff // four 16-bit lanes
			}
		}
		for bx := range sums {
			i := by*s.bw + bx
			s.sum[i] = int32(sums[bx] * 0x0001000100010001 >> 48)
			lo, hi := mins[bx], maxs[bx]
			l, m := uint8(lo), uint8(hi)
			for k := 8; k < 64; k += 8 {
				l, m = min(l, uint8(lo>>k)), max(m, uint8(hi>>k))
			}
			s.lo[i], s.hi[i] = l, m
		}
	}
	return s
}

// hybridMatrix binarizes g as gozxing's HybridBinarizer does: a black point
// per 8×8 block (its mean, or for a block of low contrast half its minimum
// or its neighbours' black point), then each block thresholded at the mean
// black point of the 5×5 blocks around it (pixel ≤ threshold is dark).
// stats may be nil; it is computed then.
func hybridMatrix(g *image.Gray, stats *blockStats) (*gozxing.BitMatrix, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if w < binMinDim || h < binMinDim {
		return globalMatrix(g)
	}
	if stats == nil {
		stats = newBlockStats(g)
	}
	bw, bh := stats.bw, stats.bh
	black := make([]int32, bw*bh)
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			i := by*bw + bx
			lo := int32(stats.lo[i])
			avg := stats.sum[i] >> 6
			if int32(stats.hi[i])-lo <= binMinRange {
				avg = lo / 2
				if by > 0 && bx > 0 {
					nb := (black[i-bw] + 2*black[i-1] + black[i-bw-1]) / 4
					if lo < nb {
						avg = nb
					}
				}
			}
			black[i] = avg
		}
	}
	// Thresholds: the mean of the 5×5 black points around each block
	// (centre clamped two blocks in from the edges).
	th := make([]uint8, bw*bh)
	for by := 0; by < bh; by++ {
		top := min(max(by, 2), bh-3)
		for bx := 0; bx < bw; bx++ {
			left := min(max(bx, 2), bw-3)
			var sum int32
			for yy := top - 2; yy <= top+2; yy++ {
				r := black[yy*bw+left-2:][:5]
				sum += r[0] + r[1] + r[2] + r[3] + r[4]
			}
			th[by*bw+bx] = uint8(sum / 25)
		}
	}
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	// A pixel covered by two blocks (the last block of a row or column
	// overlaps its neighbour) gets the same threshold from both: the 5×5
	// window is centred at most three blocks from the edge, so the last two
	// blocks of a row or column share it.
	rowTh := make([]uint8, w)
	row := gozxing.NewBitArray(w)
	for y := 0; y < h; y++ {
		if y%binBlock == 0 {
			for bx, v := range th[min(y/binBlock, bh-1)*bw:][:bw] {
				x0 := min(bx*binBlock, stats.maxXOff)
				for x := x0; x < x0+binBlock; x++ {
					rowTh[x] = v
				}
			}
		}
		darkRow(row, g.Pix[y*g.Stride:][:w], rowTh, w, 0)
		m.SetRow(y, row)
	}
	return m, nil
}

// globalMatrix binarizes g as gozxing's GlobalHistogramBinarizer does: one
// black point from a 32-bucket histogram of four rows' middle three fifths,
// pixel < black point is dark. It fails, like gozxing, when the histogram
// has too little contrast.
func globalMatrix(g *image.Gray) (*gozxing.BitMatrix, error) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	m, err := gozxing.NewBitMatrix(w, h)
	if err != nil {
		return nil, err
	}
	var buckets [32]int
	for y := 1; y < 5; y++ {
		row := g.Pix[(h*y/5)*g.Stride:][:w]
		for _, v := range row[w/5 : w*4/5] {
			buckets[v>>3]++
		}
	}
	bp, ok := estimateBlackPoint(buckets[:])
	if !ok {
		return nil, gozxing.NewNotFoundException()
	}
	row := gozxing.NewBitArray(w)
	for y := 0; y < h; y++ {
		darkRow(row, g.Pix[y*g.Stride:][:w], nil, w, uint8(bp-1))
		m.SetRow(y, row)
	}
	return m, nil
}

// estimateBlackPoint is gozxing's (and ZXing's): the valley between the
// two highest, well separated peaks of the histogram, nearer the light one.
func estimateBlackPoint(buckets []int) (int, bool) {
	n := len(buckets)
	maxCount, first, firstSize := 0, 0, 0
	for x, c := range buckets {
		if c > firstSize {
			first, firstSize = x, c
		}
		maxCount = max(maxCount, c)
	}
	second, secondScore := 0, 0
	for x, c := range buckets {
		d := x - first
		if s := c * d * d; s > secondScore {
			second, secondScore = x, s
		}
	}
	if first > second {
		first, second = second, first
	}
	if second-first <= n/16 {
		return 0, false
	}
	best, bestScore := second-1, -1
	for x := second - 1; x > first; x-- {
		f := x - first
		if s := f * f * (second - x) * (maxCount - buckets[x]); s > bestScore {
			best, bestScore = x, s
		}
	}
	return best << 3, true
}

const lanes = 0x0101010101010101

// minMax8 updates the byte-lane minima and maxima lo and hi with the eight
// bytes of v (SWAR: no branches, one word for eight pixels).
func minMax8(lo, hi, v uint64) (uint64, uint64) {
	m := ge8(v, lo) >> 7 * 0xff // lanes where v >= lo
	lo = lo&m | v&^m
	m = ge8(v, hi) >> 7 * 0xff
	hi = v&m | hi&^m
	return lo, hi
}

// ge8 sets the high bit of each byte lane where x >= y (unsigned).
func ge8(x, y uint64) uint64 {
	const H = 0x80 * lanes
	t := (x | H) - (y &^ H) // no borrow between lanes; high bit: low 7 bits of x >= y's
	return (x&^y | ^(x^y)&t) & H
}

// darkRow sets, in row, the bits of the pixels of pix at most their
// threshold: th[x], or the single threshold t when th is nil.
func darkRow(row *gozxing.BitArray, pix, th []uint8, w int, t uint8) {
	tt := uint64(t) * lanes
	for x0 := 0; x0 < w; x0 += 32 {
		var word uint32
		n := min(32, w-x0)
		k := 0
		for ; k+8 <= n; k += 8 {
			if th != nil {
				tt = binary.LittleEndian.Uint64(th[x0+k:])
			}
			ge := ge8(tt, binary.LittleEndian.Uint64(pix[x0+k:])) >> 7 // lane bit 0: pixel <= threshold
			word |= uint32(ge*0x0102040810204080>>56) << k
		}
		for ; k < n; k++ {
			if th != nil {
				t = th[x0+k]
			}
			if pix[x0+k] <= t {
				word |= 1 << k
			}
		}
		row.SetBulk(x0, word)
	}
}
