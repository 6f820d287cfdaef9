package qr

import "math/bits"

// Mask selection on bit rows: the symbol is packed once into rows and
// columns of 64-bit words, each mask is applied with three XORs per row,
// and the penalty rules are evaluated with word-wide shifts and population
// counts, not module by module.

// bitRow is one row or column of at most 192 modules: module x is bit x%64
// of word x/64; 1 is dark. Versions up to 40 (177 modules) fit.
type bitRow [3]uint64

// shr moves module x+k to x (k in 1..63), shifting in light modules.
func (r bitRow) shr(k uint) bitRow {
	return bitRow{r[0]>>k | r[1]<<(64-k), r[1]>>k | r[2]<<(64-k), r[2] >> k}
}

// shl moves module x-k to x (k in 1..63), shifting in light modules.
func (r bitRow) shl(k uint) bitRow {
	return bitRow{r[0] << k, r[1]<<k | r[0]>>(64-k), r[2]<<k | r[1]>>(64-k)}
}

func (r bitRow) and(o bitRow) bitRow { return bitRow{r[0] & o[0], r[1] & o[1], r[2] & o[2]} }
func (r bitRow) or(o bitRow) bitRow  { return bitRow{r[0] | o[0], r[1] | o[1], r[2] | o[2]} }
func (r bitRow) xor(o bitRow) bitRow { return bitRow{r[0] ^ o[0], r[1] ^ o[1], r[2] ^ o[2]} }
func (r bitRow) not() bitRow         { return bitRow{^r[0], ^r[1], ^r[2]} }
func (r bitRow) pop() int {
	return bits.OnesCount64(r[0]) + bits.OnesCount64(r[1]) + bits.OnesCount64(r[2])
}
func (r *bitRow) set(x int) { r[x>>6] |= 1 << uint(x&63) }

// lowBits has modules 0..n-1 set.
func lowBits(n int) bitRow {
	var b bitRow
	for i := range b {
		switch {
		case n >= 64*(i+1):
			b[i] = ^uint64(0)
		case n > 64*i:
			b[i] = 1<<uint(n-64*i) - 1
		}
	}
	return b
}

// maskPattern[m][k] has module x set where mask m flips (x, y) for y%12 ==
// k (rows); maskPatternT is the same with x and y swapped (columns).
var maskPattern, maskPatternT [8][12]bitRow

func init() {
	for m := 0; m < 8; m++ {
		for k := 0; k < 12; k++ {
			for x := 0; x < 192; x++ {
				if maskFunc(m, x, k) {
					maskPattern[m][k].set(x)
				}
				if maskFunc(m, k, x) {
					maskPatternT[m][k].set(x)
				}
			}
		}
	}
}

// penaltyRows scores rules 1 and 3 on n lines (rows or columns) of n
// modules; with rows set it adds rules 2 and 4, which need only one
// orientation. See penaltyRef in the tests for the rules module by module.
func penaltyRows(lines []bitRow, n int, rows bool) int {
	p := 0
	valid1 := lowBits(n - 1)
	var prev bitRow
	dark := 0
	for y, r := range lines {
		// Rule 1: E has x set where x and x+1 have one colour; S5 where
		// x..x+4 do. A run of L >= 5 gives L-4 positions in S5 and scores
		// L-2: popcount(S5) plus 2 per run.
		e := r.xor(r.shr(1)).not().and(valid1)
		s5 := e.and(e.shr(1)).and(e.shr(2)).and(e.shr(3))
		if s5 != (bitRow{}) {
			p += s5.pop() + 2*s5.and(s5.shl(1).not()).pop()
		}
		// Rule 3: 1011101 starting at x, with four light modules before
		// or after (outside the symbol is light).
		f := r.and(r.shr(1).not()).and(r.shr(2)).and(r.shr(3)).and(r.shr(4)).and(r.shr(5).not()).and(r.shr(6))
		if f != (bitRow{}) {
			before := r.shl(1).or(r.shl(2)).or(r.shl(3)).or(r.shl(4)).not()
			after := r.shr(7).or(r.shr(8)).or(r.shr(9)).or(r.shr(10)).not()
			p += penN3 * (f.and(before).pop() + f.and(after).pop())
		}
		if rows {
			dark += r.pop()
			if y > 0 { // Rule 2: 2×2 blocks of one colour.
				v := r.xor(prev).not()
				p += penN2 * v.and(v.shr(1)).and(e).pop()
			}
			prev = r
		}
	}
	if rows {
		total := n * n
		p += abs(dark*20-total*10) / total * penN4
	}
	return p
}

// chooseMask returns the mask with the lowest penalty (the first on ties)
// for the unmasked grid base of template t at level l.
func chooseMask(t *template, l Level, base []byte) int {
	n := t.size
	var rowsBuf, colsBuf, mr, mc [177]bitRow
	rows, cols := rowsBuf[:n], colsBuf[:n]
	for y := 0; y < n; y++ {
		line := base[y*n : y*n+n]
		for x, b := range line {
			if b != 0 {
				rows[y].set(x)
				cols[x].set(y)
			}
		}
	}
	best, bestPen := 0, -1
	for m := 0; m < 8; m++ {
		for y := 0; y < n; y++ {
			mr[y] = rows[y].xor(t.dataRows[y].and(maskPattern[m][y%12]))
			mc[y] = cols[y].xor(t.dataCols[y].and(maskPatternT[m][y%12]))
		}
		fb := formatBits(l, m)
		for k := 0; k < 2; k++ {
			for i := 0; i < 15; i++ {
				if fb>>i&1 == 1 {
					idx := int(t.format[k][i])
					x, y := idx%n, idx/n
					mr[y].set(x)
					mc[x].set(y)
				}
			}
		}
		p := penaltyRows(mr[:n], n, true)
		if bestPen >= 0 && p >= bestPen {
			continue
		}
		p += penaltyRows(mc[:n], n, false)
		if bestPen < 0 || p < bestPen {
			best, bestPen = m, p
		}
	}
	return best
}
