package qr

import "math/bits"

// Mask selection on bit planes. The symbol is held twice, as rows and as
// columns, each cut into lanes of 64 modules: lane w of the row planes is
// one uint64 per row y with bit x%64 set for a dark module at column
// x = 64w + x%64; the column planes are the same with x and y swapped. A
// run or a finder-like pattern along a row is then a pattern down the
// column planes, from one word to the next, for 64 rows at once: rules 1
// and 3 need no shifts, only AND/OR/XOR of neighbouring words and a
// population count. Rule 2 (2×2 blocks) takes one shift per row word,
// rule 4 a population count.
//
// Each plane has planePad light words before its first line and
// planeTail after its last: the light area around the symbol that rule 3
// counts (ISO/IEC 18004 7.8.3: the quiet zone is light).

const (
	planePad  = 4
	planeTail = 10
)

// planeStride is the number of words in one lane of a plane for a symbol
// of n modules per side.
func planeStride(n int) int { return planePad + n + planeTail }

// planeLanes is the number of 64-module lanes for n modules.
func planeLanes(n int) int { return (n + 63) / 64 }

// laneBits has the bits of lane w set that are modules below limit.
func laneBits(w, limit int) uint64 {
	k := limit - 64*w
	switch {
	case k >= 64:
		return ^uint64(0)
	case k <= 0:
		return 0
	}
	return 1<<uint(k) - 1
}

// maskPattern[m][k][w] has bit x%64 of lane w set where mask m flips
// (x, y) for y%12 == k (row planes); maskPatternT is the same with x and
// y swapped (column planes).
var maskPattern, maskPatternT [8][12][3]uint64

func init() {
	for m := 0; m < 8; m++ {
		for k := 0; k < 12; k++ {
			for x := 0; x < 192; x++ {
				if maskFunc(m, x, k) {
					maskPattern[m][k][x>>6] |= 1 << uint(x&63)
				}
				if maskFunc(m, k, x) {
					maskPatternT[m][k][x>>6] |= 1 << uint(x&63)
				}
			}
		}
	}
}

// scoreAlong scores rules 1 and 3 along the line index of one lane: p is
// the lane with its padding, line y at p[planePad+y]; valid has the lane's
// bits that are inside the symbol. On row planes it scores every column,
// on column planes every row.
func scoreAlong(p []uint64, n int, valid uint64) int {
	pen := 0
	var prev uint64 // s5 of the line before
	// Rule 1 works on d(k) = line k XOR line k+1 (a colour change) and
	// dd(k) = d(k) | d(k+1), carried from one line to the next.
	d2 := p[planePad+2] ^ p[planePad+3]
	d1 := p[planePad+1] ^ p[planePad+2]
	dd0 := (p[planePad] ^ p[planePad+1]) | d1
	dd1 := d1 | d2
	for y := 0; y+4 < n; y++ {
		l := p[y : y+15 : y+15] // l[4] is line y; l[0..3] and l[11..14] are its neighbours
		a, b, c, d, e := l[4], l[5], l[6], l[7], l[8]
		// Rule 1: s5 has a bit where lines y..y+4 have one colour. A run
		// of L >= 5 gives L-4 such lines and scores L-2: popcount(s5)
		// plus 2 where a run starts.
		d3 := d ^ e
		dd2 := d2 | d3
		s5 := ^(dd0 | dd2) & valid
		dd0, dd1, d2 = dd1, dd2, d3
		pen += bits.OnesCount64(s5) + 2*bits.OnesCount64(s5&^prev)
		prev = s5
		// Rule 3: 1011101 on lines y..y+6 with four light lines before
		// or after (outside the symbol is light: the padding).
		if f := a &^ b & c & d & e &^ l[9] & l[10]; f != 0 {
			before := ^(l[0] | l[1] | l[2] | l[3])
			after := ^(l[11] | l[12] | l[13] | l[14])
			pen += penN3 * (bits.OnesCount64(f&before) + bits.OnesCount64(f&after))
		}
	}
	return pen
}

// scoreRows scores rows planes r (nw lanes of stride words): rules 1 and
// 3 down the columns, rule 2 and rule 4.
func scoreRows(r []uint64, n, nw, stride int) int {
	pen, dark, blocks := 0, 0, 0
	for w := 0; w < nw; w++ {
		lane := r[w*stride : (w+1)*stride]
		pen += scoreAlong(lane, n, laneBits(w, n))
		var next []uint64
		if w+1 < nw {
			next = r[(w+1)*stride : (w+2)*stride]
		} else {
			next = r[w*stride : (w+1)*stride] // read as zero below
		}
		carry := uint64(0)
		if w+1 < nw {
			carry = 1
		}
		valid1 := laneBits(w, n-1) // x with x+1 inside the symbol
		rows := lane[planePad : planePad+n+1]
		nrows := next[planePad : planePad+n+1]
		for y := 0; y < n; y++ {
			a := rows[y]
			dark += bits.OnesCount64(a)
			if y+1 == n {
				break
			}
			// Rule 2: v has x where (x, y) and (x, y+1) have one colour,
			// h where (x, y) and (x+1, y) do; a block needs v at x and
			// x+1 and h at x.
			b := rows[y+1]
			an, bn := nrows[y]&carry, nrows[y+1]&carry
			v := ^(a ^ b)
			vn := ^(an ^ bn) & 1
			h := ^(a ^ (a>>1 | an<<63))
			blocks += bits.OnesCount64(v & (v>>1 | vn<<63) & h & valid1)
		}
	}
	total := n * n
	return pen + penN2*blocks + abs(dark*20-total*10)/total*penN4
}

// scoreCols scores column planes c: rules 1 and 3 along the rows.
func scoreCols(c []uint64, n, nw, stride int) int {
	pen := 0
	for w := 0; w < nw; w++ {
		pen += scoreAlong(c[w*stride:(w+1)*stride], n, laneBits(w, n))
	}
	return pen
}

// transposePlanes writes the column planes of the row planes r into c
// (both nw lanes of stride words, padding already zero in c).
func transposePlanes(r, c []uint64, n, nw, stride int) {
	var a [64]uint64
	for w := 0; w < nw; w++ { // lane of r: columns 64w..
		for h := 0; h < nw; h++ { // lane of c: rows 64h..
			rows := min(64, n-64*h)
			src := r[w*stride+planePad+64*h:]
			copy(a[:rows], src[:rows])
			clear(a[rows:])
			transpose64(&a)
			cols := min(64, n-64*w)
			copy(c[h*stride+planePad+64*w:], a[:cols])
		}
	}
}

// transpose64 transposes a 64×64 bit matrix: bit x of a[y] moves to bit y
// of a[x] (off-diagonal blocks swapped, halving the block size each step).
func transpose64(a *[64]uint64) {
	m := uint64(0x00000000ffffffff)
	for j := 32; j != 0; j >>= 1 {
		for k := 0; k < 64; k = (k + j + 1) &^ j {
			t := (a[k]>>uint(j) ^ a[k+j]) & m
			a[k] ^= t << uint(j)
			a[k+j] ^= t
		}
		m ^= m << uint(j>>1)
	}
}

// maskPlanes writes src XOR flip (a mask's flipped data modules, see
// template.flipR) into dst, word by word, padding included.
func maskPlanes(dst, src, flip []uint64) {
	dst = dst[:len(src)]
	flip = flip[:len(src)]
	for i, v := range src {
		dst[i] = v ^ flip[i]
	}
}

// flipPlanes returns, for each mask, the data modules it flips as planes
// like data (nw lanes of stride words); pat is maskPattern or
// maskPatternT.
func flipPlanes(data []uint64, pat *[8][12][3]uint64, n, nw, stride int) [8][]uint64 {
	var out [8][]uint64
	for m := range out {
		f := make([]uint64, len(data))
		for w := 0; w < nw; w++ {
			for y := 0; y < n; y++ {
				i := w*stride + planePad + y
				f[i] = data[i] & pat[m][y%12][w]
			}
		}
		out[m] = f
	}
	return out
}

// setFormat sets the dark bits of format information fb at positions pos
// (plane index<<6 | bit).
func setFormat(p []uint64, pos *[2][15]uint32, fb int) {
	for i := 0; i < 15; i++ {
		if fb>>i&1 == 1 {
			for k := 0; k < 2; k++ {
				q := pos[k][i]
				p[q>>6] |= 1 << (q & 63)
			}
		}
	}
}

// chooseMask returns the mask with the lowest penalty (the first on ties)
// for the unmasked planes r (rows) and c (columns) of template t at level
// l, using mr and mc as scratch; it leaves the winner's row planes in mr.
func chooseMask(t *template, l Level, r, c, mr, mc []uint64) int {
	n, nw, stride := t.size, t.nw, t.stride
	best, bestPen := 0, -1
	for m := 0; m < 8; m++ {
		maskPlanes(mr, r, t.flipR[m])
		fb := formatBits(l, m)
		setFormat(mr, &t.fmtR, fb)
		p := scoreRows(mr, n, nw, stride)
		if bestPen >= 0 && p >= bestPen {
			continue
		}
		maskPlanes(mc, c, t.flipC[m])
		setFormat(mc, &t.fmtC, fb)
		p += scoreCols(mc, n, nw, stride)
		if bestPen < 0 || p < bestPen {
			best, bestPen = m, p
		}
	}
	maskPlanes(mr, r, t.flipR[best])
	setFormat(mr, &t.fmtR, formatBits(l, best))
	return best
}

// expandRows writes row planes r as a byte grid (1 = dark) into out, which
// needs n*n+8 bytes of capacity.
func expandRows(r []uint64, n, stride int, out []byte) {
	out = out[:cap(out)]
	for y := 0; y < n; y++ {
		o := y * n
		for x := 0; x < n; x += 8 {
			b := r[(x>>6)*stride+planePad+y] >> uint(x&63) & 0xff
			putUint64LE(out[o+x:o+x+8], byteSpread[b])
		}
	}
}

// byteSpread[b] has byte i = bit i of b.
var byteSpread [256]uint64

func init() {
	for b := range byteSpread {
		for i := 0; i < 8; i++ {
			byteSpread[b] |= uint64(b>>i&1) << (8 * i)
		}
	}
}

func putUint64LE(b []byte, v uint64) {
	_ = b[7]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	b[4], b[5], b[6], b[7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
}
