package qr

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sort"
	"sync"
)

// A PNG writer for QR images (RFC 1950/1951, PNG 1.2). A QR image has few
// distinct pixel rows: one per module row plus white, each repeated scale
// times. The zlib stream is one dynamic-Huffman deflate block: each
// distinct row once as literals, coded by the Huffman code of the byte
// histogram of those rows, and each repeat as length/distance matches one
// row back. Nothing searches for matches; the Adler-32 of a repeated row is
// updated in closed form, not byte by byte.

// pngState is pooled working memory for writePNG.
type pngState struct {
	lines []byte     // distinct scanlines (filter byte + pixels), lineLen each
	runs  []pngRun   // the image as scanline runs, top to bottom
	out   []byte     // the PNG file
	lsum  []lineSums // per distinct scanline
	uses  []uint32   // runs per distinct scanline
}

func grow32(b []uint32, n int) []uint32 {
	if cap(b) < n {
		return make([]uint32, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// pngRun is count pixel rows that all equal scanline line.
type pngRun struct{ line, count int }

// lineSums are a scanline's byte sum and its Adler-32 weighted sum
// (sum of (len-i)·b[i]).
type lineSums struct{ s, w uint64 }

var pngPool = sync.Pool{New: func() any { return new(pngState) }}

// writePNG writes a side×side 1-bit greyscale PNG with modules of scale
// pixels, the symbol's quiet zone starting off pixels in from the
// top-left.
func (c *Code) writePNG(w io.Writer, side, scale, off int) error {
	st := pngPool.Get().(*pngState)
	defer pngPool.Put(st)
	st.out = c.appendPNG(st, st.out[:0], side, scale, off)
	if _, err := w.Write(st.out); err != nil {
		return fmt.Errorf("shc/qr: writing PNG: %w", err)
	}
	return nil
}

// appendPNG appends that PNG file to dst, using st's buffers.
func (c *Code) appendPNG(st *pngState, dst []byte, side, scale, off int) []byte {
	lineLen := 1 + (side+7)/8
	n := c.size
	first := off + quietZone*scale // first pixel row and column of the symbol
	// Distinct scanlines: 0 is white, 1+y is module row y; consecutive
	// equal module rows share one run.
	st.lines = grow(st.lines, (1+n)*lineLen+16)
	sp := spreadFor(scale)
	white := st.lines[:lineLen]
	white[0] = 0 // filter None
	for i := 1; i < lineLen; i++ {
		white[i] = 0xff
	}
	runs := st.runs[:0]
	runs = append(runs, pngRun{0, first})
	for y := 0; y < n; y++ {
		line := st.lines[(1+y)*lineLen : (2+y)*lineLen]
		c.scanline(line, y, scale, first, sp)
		if last := &runs[len(runs)-1]; last.line > 0 && string(st.lines[last.line*lineLen:(last.line+1)*lineLen]) == string(line) {
			last.count += scale
			continue
		}
		runs = append(runs, pngRun{1 + y, scale})
	}
	runs = append(runs, pngRun{0, side - first - n*scale})
	st.runs = runs

	// Histogram of literals and match lengths; per distinct scanline its
	// Adler-32 sums.
	var litFreq [286]int
	litFreq[256] = 1 // end of block
	st.uses = grow32(st.uses, 1+n)
	for _, r := range runs {
		if r.count > 0 {
			st.uses[r.line]++
		}
	}
	st.lsum = st.lsum[:0]
	for i := 0; i <= n; i++ {
		var s, wsum uint64
		u := int(st.uses[i])
		for _, b := range st.lines[i*lineLen : (i+1)*lineLen] {
			litFreq[b] += u
			s += uint64(b)
			wsum += s
		}
		st.lsum = append(st.lsum, lineSums{s, wsum})
	}
	for _, r := range runs {
		if r.count == 0 {
			continue
		}
		line := st.lines[r.line*lineLen : (r.line+1)*lineLen]
		forMatches((r.count-1)*lineLen, func(length int) {
			if length < 3 {
				for _, b := range line[lineLen-length:] {
					litFreq[b]++
				}
				return
			}
			litFreq[lengthSym[length]]++
		})
	}
	var litLen [286]uint8
	huffmanLengths(litFreq[:], litLen[:], 15)
	var litCode [286]uint16
	canonicalCodes(litLen[:], litCode[:])
	var lit [256]uint32 // code | length<<16 of each literal byte
	for b := range lit {
		lit[b] = uint32(litCode[b]) | uint32(litLen[b])<<16
	}
	// One distance is used (one row back); a second code of length 1
	// keeps the distance code complete.
	dsym := distSym(lineLen)
	var distLen [30]uint8
	distLen[dsym] = 1
	distLen[(dsym+1)%30] = 1
	var distCode [30]uint16
	canonicalCodes(distLen[:], distCode[:])
	dExtraBits, dExtra := distExtra(lineLen, dsym)

	// The file: signature, IHDR, IDAT (zlib), IEND.
	dst = append(dst, "\x89PNG\r\n\x1a\n"...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(side))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(side))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, greyscale: 0 black, 1 white
	dst = appendChunk(dst, "IHDR", ihdr[:])
	idat := len(dst)
	dst = append(dst, 0, 0, 0, 0, 'I', 'D', 'A', 'T')
	dst = append(dst, 0x78, 0x01) // zlib: deflate, 32 KiB window, no dictionary
	bw := bitWriter64{b: dst}
	bw.put(1, 1) // final block
	bw.put(2, 2) // dynamic Huffman
	writeCodeLengths(&bw, litLen[:], distLen[:])
	const adlerMod = 65521
	s1, s2 := uint64(1), uint64(0)
	for _, r := range runs {
		if r.count == 0 {
			continue
		}
		line := st.lines[r.line*lineLen : (r.line+1)*lineLen]
		bw.literals(line, &lit)
		forMatches((r.count-1)*lineLen, func(length int) {
			if length < 3 {
				for _, b := range line[lineLen-length:] {
					bw.put(uint64(litCode[b]), uint(litLen[b]))
				}
				return
			}
			sym := lengthSym[length]
			eb, ev := lengthExtra(length, sym)
			bw.put(uint64(litCode[sym]), uint(litLen[sym]))
			bw.put(ev, eb)
			bw.put(uint64(distCode[dsym]), uint(distLen[dsym]))
			bw.put(dExtra, dExtraBits)
		})
		ls := st.lsum[r.line]
		for k := 0; k < r.count; k++ {
			s2 = (s2 + uint64(lineLen)*s1 + ls.w) % adlerMod
			s1 = (s1 + ls.s) % adlerMod
		}
	}
	bw.put(uint64(litCode[256]), uint(litLen[256]))
	dst = bw.flush()
	dst = binary.BigEndian.AppendUint32(dst, uint32(s2<<16|s1))
	binary.BigEndian.PutUint32(dst[idat:], uint32(len(dst)-idat-8))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[idat+4:]))
	return appendChunk(dst, "IEND", nil)
}

// scanline writes pixel row data of module row y: filter byte None, then
// side pixels, 1 = white, with the symbol from pixel first on and modules
// of scale pixels. It may write up to 16 bytes past the end of line (the
// caller leaves room): the last group of up to 7 modules at up to 7 px
// reaches 3 bytes past the quiet zone, and each store is 8 bytes.
func (c *Code) scanline(line []byte, y, scale, first int, sp *spreadTable) {
	line[0] = 0
	px := line[1:]
	n := c.size
	mods := c.modules[y*n : (y+1)*n]
	w := pixWriter{px: px}
	w.pixels(true, first) // white before the symbol
	if sp == nil {        // modules over 56 px (PNGSize): one at a time
		for _, d := range mods {
			w.pixels(d == 0, scale)
		}
		n = 0
	}
	// Eight modules at a time: packed to a byte (bit i = module x+i, 1 =
	// dark), then per of them at once through the spread table.
	acc, nb, k := w.acc, w.nb, w.k
	var t []uint64
	var per, bits uint
	var mask uint64
	if sp != nil {
		t, per, bits, mask = sp.t, sp.per, sp.bits, sp.mask
	}
	for x := 0; x < n; x += 8 {
		var m8 uint64
		if x+8 <= n {
			m8 = binary.LittleEndian.Uint64(mods[x:x+8]) * 0x0102040810204080 >> 56
		} else {
			var tmp [8]byte
			copy(tmp[:], mods[x:])
			m8 = binary.LittleEndian.Uint64(tmp[:]) * 0x0102040810204080 >> 56
		}
		for q := uint(0); q < 8 && x+int(q) < n; q += per {
			acc |= t[m8>>q&mask] >> nb
			nb += bits
			binary.BigEndian.PutUint64(px[k:k+8], acc)
			whole := nb &^ 7
			k += int(whole >> 3)
			acc <<= whole
			nb -= whole
		}
	}
	// White from the end of the symbol to the end of the row, padding bits
	// included.
	end := first + c.size*scale
	if end&7 != 0 {
		px[end>>3] |= 0xff >> uint(end&7)
	}
	for i := (end + 7) >> 3; i < len(px); i++ {
		px[i] = 0xff
	}
}

// pixWriter appends pixels to a scanline: acc holds nb pending pixels at
// its top (the oldest first); whole bytes are stored big-endian 8 at a
// time at px[k:].
type pixWriter struct {
	px  []byte
	acc uint64
	nb  uint
	k   int
}

// pixels adds count pixels of one colour.
func (w *pixWriter) pixels(white bool, count int) {
	for count > 0 {
		m := uint(min(count, 32))
		if white {
			w.acc |= (1<<m - 1) << (64 - w.nb - m)
		}
		w.nb += m
		count -= int(m)
		binary.BigEndian.PutUint64(w.px[w.k:w.k+8], w.acc)
		whole := w.nb &^ 7
		w.k += int(whole >> 3)
		w.acc <<= whole
		w.nb -= whole
	}
}

// spreadTable turns per modules (bit i = module i, 1 = dark) into their
// per*scale pixels, white = 1, the first pixel in the top bit of t[m].
type spreadTable struct {
	per, bits uint
	mask      uint64
	t         []uint64
}

var spreadTables [maxSpread + 1]struct {
	once sync.Once
	t    spreadTable
}

// maxSpread is the largest scale with a spread table.
const maxSpread = 56

// spreadFor returns the table of scale (1..maxSpread; nil above): 8
// modules per entry up to 7 px per module, then 4, 2 or 1, so that an
// entry and 7 pending pixels fit one word.
func spreadFor(scale int) *spreadTable {
	if scale > maxSpread {
		return nil
	}
	e := &spreadTables[scale]
	e.once.Do(func() {
		per := 8
		for per*scale > 56 {
			per /= 2
		}
		sp := spreadTable{per: uint(per), bits: uint(per * scale), mask: 1<<uint(per) - 1, t: make([]uint64, 1<<uint(per))}
		for m := range sp.t {
			var v uint64
			for i := 0; i < per; i++ {
				v <<= uint(scale)
				if m>>uint(i)&1 == 0 {
					v |= 1<<uint(scale) - 1
				}
			}
			sp.t[m] = v << (64 - sp.bits)
		}
		e.t = sp
	})
	return &e.t
}

// forMatches calls f with the lengths that copy total bytes in deflate
// matches of 3..258 bytes; a total below 3 is passed as is (the caller
// writes literals).
func forMatches(total int, f func(int)) {
	for total > 0 {
		k := min(total, 258)
		if r := total - k; r > 0 && r < 3 {
			k = total - 3
		}
		f(k)
		total -= k
	}
}

// lengthSym[l] is the deflate length symbol (257..285) of match length l.
var lengthSym [259]int

// lengthBase are the first lengths of symbols 257..285 (RFC 1951 3.2.5).
var lengthBase = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}

var lengthBits = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}

func init() {
	for s := 0; s < 29; s++ {
		for l := lengthBase[s]; l < lengthBase[s]+1<<lengthBits[s] && l <= 258; l++ {
			lengthSym[l] = 257 + s
		}
	}
	lengthSym[258] = 285
}

func lengthExtra(l, sym int) (uint, uint64) {
	s := sym - 257
	return lengthBits[s], uint64(l - lengthBase[s])
}

// distSym is the deflate distance symbol of distance d (1..32768).
func distSym(d int) int {
	for s := 29; s >= 0; s-- {
		if distBase(s) <= d {
			return s
		}
	}
	return 0
}

func distBase(s int) int {
	if s < 4 {
		return s + 1
	}
	eb := uint(s/2 - 1)
	return 1 + (2+s%2)<<eb
}

func distExtra(d, s int) (uint, uint64) {
	if s < 4 {
		return 0, 0
	}
	return uint(s/2 - 1), uint64(d - distBase(s))
}

// huffmanLengths sets lens[i] to the code length of symbol i for
// frequencies freq (0 = unused), at most limit bits, the code complete.
// Over the limit, frequencies are flattened and the code rebuilt.
func huffmanLengths(freq []int, lens []uint8, limit int) {
	type node struct{ freq, left, right int } // left < 0: leaf -left-1
	f := make([]int, len(freq))
	copy(f, freq)
	for {
		var leaves []int
		for i, v := range f {
			lens[i] = 0
			if v > 0 {
				leaves = append(leaves, i)
			}
		}
		switch len(leaves) {
		case 0:
			return
		case 1: // a one-symbol code: give it and a neighbour one bit each
			lens[leaves[0]] = 1
			lens[(leaves[0]+1)%len(lens)] = 1
			return
		}
		sort.SliceStable(leaves, func(a, b int) bool { return f[leaves[a]] < f[leaves[b]] })
		nodes := make([]node, 0, 2*len(leaves))
		for _, s := range leaves {
			nodes = append(nodes, node{f[s], -s - 1, 0})
		}
		// Two queues: leaves in order, then internal nodes as made.
		li, ii := 0, len(nodes)
		pick := func() int {
			if li < len(leaves) && (ii >= len(nodes) || nodes[li].freq <= nodes[ii].freq) {
				li++
				return li - 1
			}
			ii++
			return ii - 1
		}
		for k := 1; k < len(leaves); k++ {
			a := pick()
			b := pick()
			nodes = append(nodes, node{nodes[a].freq + nodes[b].freq, a, b})
		}
		// Depths from the root down.
		depth := make([]int, len(nodes))
		over := false
		for i := len(nodes) - 1; i >= len(leaves); i-- {
			for _, ch := range [2]int{nodes[i].left, nodes[i].right} {
				depth[ch] = depth[i] + 1
			}
		}
		for i := 0; i < len(leaves); i++ {
			d := depth[i]
			if d > limit {
				over = true
			}
			lens[-nodes[i].left-1] = uint8(d)
		}
		if !over {
			return
		}
		for i, v := range f {
			if v > 0 {
				f[i] = v/2 + 1
			}
		}
	}
}

// canonicalCodes assigns the canonical deflate codes for lens, bit-reversed
// for LSB-first output (RFC 1951 3.2.2).
func canonicalCodes(lens []uint8, codes []uint16) {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	code := 0
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for i, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		r := 0
		for k := 0; k < int(l); k++ {
			r = r<<1 | c>>k&1
		}
		codes[i] = uint16(r)
	}
}

// clOrder is the order of the code-length code lengths (RFC 1951 3.2.7).
var clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// writeCodeLengths writes HLIT, HDIST, HCLEN and the run-length coded
// code lengths of a dynamic block.
func writeCodeLengths(bw *bitWriter64, lit, dist []uint8) {
	nLit := 286
	for nLit > 257 && lit[nLit-1] == 0 {
		nLit--
	}
	nDist := 30
	for nDist > 1 && dist[nDist-1] == 0 {
		nDist--
	}
	all := make([]uint8, 0, nLit+nDist)
	all = append(append(all, lit[:nLit]...), dist[:nDist]...)
	// Run-length code: 16 repeats the previous length 3..6 times, 17
	// writes 3..10 zeros, 18 writes 11..138 zeros.
	type clSym struct {
		sym   int
		extra uint64
		bits  uint
	}
	var syms []clSym
	var freq [19]int
	for i := 0; i < len(all); {
		l := all[i]
		run := 1
		for i+run < len(all) && all[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				k := min(run, 138)
				syms = append(syms, clSym{18, uint64(k - 11), 7})
				run -= k
			}
			if run >= 3 {
				syms = append(syms, clSym{17, uint64(run - 3), 3})
				run = 0
			}
		} else {
			syms = append(syms, clSym{int(l), 0, 0})
			run--
			for run >= 3 {
				k := min(run, 6)
				syms = append(syms, clSym{16, uint64(k - 3), 2})
				run -= k
			}
		}
		for ; run > 0; run-- {
			syms = append(syms, clSym{int(l), 0, 0})
		}
	}
	for _, s := range syms {
		freq[s.sym]++
	}
	var clLen [19]uint8
	huffmanLengths(freq[:], clLen[:], 7)
	var clCode [19]uint16
	canonicalCodes(clLen[:], clCode[:])
	nCL := 19
	for nCL > 4 && clLen[clOrder[nCL-1]] == 0 {
		nCL--
	}
	bw.put(uint64(nLit-257), 5)
	bw.put(uint64(nDist-1), 5)
	bw.put(uint64(nCL-4), 4)
	for _, s := range clOrder[:nCL] {
		bw.put(uint64(clLen[s]), 3)
	}
	for _, s := range syms {
		bw.put(uint64(clCode[s.sym]), uint(clLen[s.sym]))
		bw.put(s.extra, s.bits)
	}
}

// bitWriter64 appends an LSB-first bit stream (deflate's order) to b.
type bitWriter64 struct {
	b   []byte
	acc uint64
	n   uint
}

// put writes the low bits of v (at most 32 bits, v < 1<<bits).
func (w *bitWriter64) put(v uint64, bits uint) {
	w.acc |= v << w.n
	w.n += bits
	if w.n >= 32 {
		w.b = binary.LittleEndian.AppendUint32(w.b, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// literals writes each byte of line with its code in lit (code |
// length<<16, at most 15 bits).
func (w *bitWriter64) literals(line []byte, lit *[256]uint32) {
	b := slices.Grow(w.b, 2*len(line)+8)
	k := len(b)
	b = b[:cap(b)]
	acc, nb := w.acc, w.n
	// Two literals (at most 30 bits) per test for a full word.
	for len(line) >= 2 {
		e0, e1 := lit[line[0]], lit[line[1]]
		line = line[2:]
		acc |= uint64(e0&0xffff) << (nb & 63)
		nb += uint(e0 >> 16)
		acc |= uint64(e1&0xffff) << (nb & 63)
		nb += uint(e1 >> 16)
		if nb >= 32 {
			binary.LittleEndian.PutUint32(b[k:k+4], uint32(acc))
			k += 4
			acc >>= 32
			nb -= 32
		}
	}
	if len(line) == 1 {
		e := lit[line[0]]
		acc |= uint64(e&0xffff) << (nb & 63)
		nb += uint(e >> 16)
		if nb >= 32 {
			binary.LittleEndian.PutUint32(b[k:k+4], uint32(acc))
			k += 4
			acc >>= 32
			nb -= 32
		}
	}
	w.acc, w.n, w.b = acc, nb, b[:k]
}

// flush writes the last bits, padded with zeros to a byte, and returns b.
func (w *bitWriter64) flush() []byte {
	for w.n > 0 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	return w.b
}

func appendChunk(b []byte, typ string, data []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start+4:]))
}
