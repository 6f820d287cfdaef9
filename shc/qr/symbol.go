package qr

import (
	"encoding/binary"
	"sync"

	"github.com/healthcards/healthcards/shc"
)

// The QR symbol builder (ISO/IEC 18004:2015): segments → data codewords →
// Reed–Solomon → module placement → mask chosen by the penalty rule. It is
// written for the SMART Health Card hot path: per-version templates (function
// patterns and the placement order) are built once and shared, Reed–Solomon
// is a word-wide shift register with one table per generator, and the
// eight masks are scored on bit planes (maskbits.go) with no allocation
// per mask.

// template is what every symbol of one version shares.
type template struct {
	size   int
	base   []byte   // function patterns drawn (format areas light), 0/1
	isData []byte   // 1 for data modules, 0 for function modules
	order  []uint16 // data module indices in placement order
	phase  []uint8  // (y%12)*12 + x%12 of each module in order
	format [2][15]uint16
	// Bit planes (maskbits.go): nw lanes of stride words each.
	nw, stride   int
	baseR        []uint64 // base as row planes
	dataR, dataC []uint64 // isData as row and column planes
	// place[i] is order[i] in the row planes: word index<<6 | bit.
	place      []uint32
	fmtR, fmtC [2][15]uint32 // format positions in row and column planes
	// flipR[m] and flipC[m] are the data modules mask m flips, as row and
	// column planes.
	flipR, flipC [8][]uint64
	// maskCW[m][j] is the byte mask m XORs onto codeword j in placement
	// order.
	maskCW [8][]byte
}

var templates [41]struct {
	once sync.Once
	t    *template
}

func versionTemplate(v int) *template {
	e := &templates[v]
	e.once.Do(func() { e.t = buildTemplate(v) })
	return e.t
}

// alignmentCenters lists the row/column coordinates of alignment pattern
// centres (ISO/IEC 18004 annex E): 6, then evenly spaced (an even step) up
// to size-7.
func alignmentCenters(v int) []int {
	if v == 1 {
		return nil
	}
	num := v/7 + 2
	step := 26
	if v != 32 {
		step = (v*4 + num*2 + 1) / (num*2 - 2) * 2
	}
	out := make([]int, num)
	out[0] = 6
	for i, pos := num-1, 17+4*v-7; i >= 1; i, pos = i-1, pos-step {
		out[i] = pos
	}
	return out
}

func buildTemplate(v int) *template {
	n := 17 + 4*v
	t := &template{size: n, base: make([]byte, n*n), isData: make([]byte, n*n)}
	fn := make([]bool, n*n)
	set := func(x, y int, dark bool) {
		i := y*n + x
		fn[i] = true
		if dark {
			t.base[i] = 1
		} else {
			t.base[i] = 0
		}
	}
	for i := 0; i < n; i++ { // timing patterns
		set(6, i, i%2 == 0)
		set(i, 6, i%2 == 0)
	}
	for _, c := range [][2]int{{3, 3}, {n - 4, 3}, {3, n - 4}} { // finders + separators
		for dy := -4; dy <= 4; dy++ {
			for dx := -4; dx <= 4; dx++ {
				x, y := c[0]+dx, c[1]+dy
				if x < 0 || y < 0 || x >= n || y >= n {
					continue
				}
				d := max(abs(dx), abs(dy))
				set(x, y, d != 2 && d != 4)
			}
		}
	}
	al := alignmentCenters(v)
	for i, cy := range al {
		for j, cx := range al {
			if (i == 0 && j == 0) || (i == 0 && j == len(al)-1) || (i == len(al)-1 && j == 0) {
				continue // overlaps a finder
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					set(cx+dx, cy+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	// Format information positions (written per mask), bit i = LSB first.
	for i := 0; i < 15; i++ {
		var x1, y1, x2, y2 int
		switch {
		case i < 6:
			x1, y1 = 8, i
		case i == 6:
			x1, y1 = 8, 7
		case i == 7:
			x1, y1 = 8, 8
		case i == 8:
			x1, y1 = 7, 8
		default:
			x1, y1 = 14-i, 8
		}
		if i < 8 {
			x2, y2 = n-1-i, 8
		} else {
			x2, y2 = 8, n-15+i
		}
		set(x1, y1, false)
		set(x2, y2, false)
		t.format[0][i] = uint16(y1*n + x1)
		t.format[1][i] = uint16(y2*n + x2)
	}
	set(8, n-8, true) // the dark module
	if v >= 7 {
		bits := versionBits(v)
		for i := 0; i < 18; i++ {
			a, b := n-11+i%3, i/3
			dark := bits>>i&1 == 1
			set(a, b, dark)
			set(b, a, dark)
		}
	}
	// Placement order: two-module columns from the right, zigzagging up
	// and down, skipping the vertical timing column.
	t.order = make([]uint16, 0, shc.QRTotalCodewords(v)*8+7)
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		up := (right+1)&2 == 0
		for k := 0; k < n; k++ {
			y := k
			if up {
				y = n - 1 - k
			}
			for x := right; x >= right-1; x-- {
				if i := y*n + x; !fn[i] {
					t.order = append(t.order, uint16(i))
					t.isData[i] = 1
				}
			}
		}
	}
	t.phase = make([]uint8, len(t.order))
	for i, idx := range t.order {
		x, y := int(idx)%n, int(idx)/n
		t.phase[i] = uint8(y%12*12 + x%12)
	}
	t.nw, t.stride = planeLanes(n), planeStride(n)
	rowAt := func(x, y int) uint32 { return uint32((x>>6)*t.stride+planePad+y)<<6 | uint32(x&63) }
	planes := t.nw * t.stride
	t.baseR, t.dataR, t.dataC = make([]uint64, planes), make([]uint64, planes), make([]uint64, planes)
	for i := range t.base {
		x, y := i%n, i/n
		if t.base[i] == 1 {
			q := rowAt(x, y)
			t.baseR[q>>6] |= 1 << (q & 63)
		}
		if t.isData[i] == 1 {
			q := rowAt(x, y)
			t.dataR[q>>6] |= 1 << (q & 63)
			q = rowAt(y, x)
			t.dataC[q>>6] |= 1 << (q & 63)
		}
	}
	for m := range t.maskCW {
		cw := make([]byte, len(t.order)/8)
		for j := range cw {
			for k := 0; k < 8; k++ {
				cw[j] = cw[j]<<1 | maskTable[m][t.phase[8*j+k]]
			}
		}
		t.maskCW[m] = cw
	}
	t.flipR = flipPlanes(t.dataR, &maskPattern, n, t.nw, t.stride)
	t.flipC = flipPlanes(t.dataC, &maskPatternT, n, t.nw, t.stride)
	t.place = make([]uint32, len(t.order))
	for i, idx := range t.order {
		t.place[i] = rowAt(int(idx)%n, int(idx)/n)
	}
	for k := 0; k < 2; k++ {
		for i, idx := range t.format[k] {
			x, y := int(idx)%n, int(idx)/n
			t.fmtR[k][i], t.fmtC[k][i] = rowAt(x, y), rowAt(y, x)
		}
	}
	return t
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// formatBits is the 15-bit format information for a level and mask: BCH
// (15,5) code, XOR 0x5412 (ISO/IEC 18004 7.9).
func formatBits(l Level, mask int) int {
	ec := [...]int{1, 0, 3, 2}[l] // L=01 M=00 Q=11 H=10
	data := ec<<3 | mask
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem&0x3ff) ^ 0x5412
}

// versionBits is the 18-bit version information: BCH (18,6) code (7.10).
func versionBits(v int) int {
	rem := v
	for i := 0; i < 12; i++ {
		rem = rem<<1 ^ (rem>>11)*0x1f25
	}
	return v<<12 | rem&0xfff
}

// --- Reed–Solomon over GF(256), polynomial 0x11d ---

var gfExp [512]byte
var gfLog [256]byte

// rsGen[d] is the generator polynomial of degree d, as logs of its
// coefficients x^(d-1)..x^0 (the leading 1 is implicit).
var rsGen [69][]byte

func init() {
	x := 1
	for i := 0; i < 255; i++ {
		gfExp[i] = byte(x)
		gfLog[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11d
		}
	}
	for i := 255; i < 512; i++ {
		gfExp[i] = gfExp[i-255]
	}
	for _, lv := range qrLevels {
		for v := 1; v <= 40; v++ {
			if _, ec := shc.QRBlocks(v, lv); rsGen[ec] == nil {
				rsGen[ec] = generator(ec)
			}
		}
	}
}

var qrLevels = [...]Level{L, M, Q, H}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// generator returns prod_{i<d} (x - α^i) as logs of the non-leading
// coefficients, highest power first.
func generator(d int) []byte {
	g := make([]byte, d+1) // g[0] is the x^d coefficient
	g[0] = 1
	for i := 0; i < d; i++ {
		a := gfExp[i]
		for j := i + 1; j >= 1; j-- {
			g[j] ^= gfMul(g[j-1], a)
		}
	}
	out := make([]byte, d)
	for j := 1; j <= d; j++ {
		out[j-1] = gfLog[g[j]] // every coefficient is non-zero
	}
	return out
}

// rsTable[d] holds, for a generator of degree d, the product of every
// feedback byte f with it: rsTable[d][f] is f·g(x) without the leading term
// as 32 bytes, coefficient of x^(d-1) first, packed big-endian into four
// words. Built once per degree on first use.
var rsTable [69]struct {
	once sync.Once
	t    *[256][4]uint64
}

func rsTableFor(d int) *[256][4]uint64 {
	e := &rsTable[d]
	e.once.Do(func() {
		t := new([256][4]uint64)
		gen := rsGen[d]
		for f := 1; f < 256; f++ {
			lf := int(gfLog[f])
			for i, g := range gen {
				t[f][i/8] |= uint64(gfExp[lf+int(g)]) << (56 - 8*uint(i%8))
			}
		}
		e.t = t
	})
	return e.t
}

// rsEncode writes the len(ec) error-correction codewords of data into ec
// (at most 32). The remainder is a 32-byte shift register in four words:
// per data byte, one shift by a byte and one table row XORed in.
func rsEncode(data, ec []byte) {
	tab := rsTableFor(len(ec))
	var r0, r1, r2, r3 uint64
	for _, b := range data {
		row := &tab[b^byte(r0>>56)]
		r0 = (r0<<8 | r1>>56) ^ row[0]
		r1 = (r1<<8 | r2>>56) ^ row[1]
		r2 = (r2<<8 | r3>>56) ^ row[2]
		r3 = r3<<8 ^ row[3]
	}
	var out [32]byte
	for i, r := range [4]uint64{r0, r1, r2, r3} {
		for k := 0; k < 8; k++ {
			out[8*i+k] = byte(r >> (56 - 8*uint(k)))
		}
	}
	copy(ec, out[:len(ec)])
}

// --- bit stream ---

type bitWriter struct {
	b   []byte
	acc uint64
	n   int // bits in acc
}

// put appends the low bits bits of v (at most 24); whole bytes go out
// four at a time.
func (w *bitWriter) put(v uint32, bits int) {
	w.acc = w.acc<<uint(bits) | uint64(v)
	w.n += bits
	if w.n >= 32 {
		w.n -= 32
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(w.acc>>uint(w.n)))
	}
}

// flush writes the pending bits, the last partial byte padded with zeros.
func (w *bitWriter) flush() {
	for w.n >= 8 {
		w.n -= 8
		w.b = append(w.b, byte(w.acc>>uint(w.n)))
	}
	if w.n > 0 {
		w.b = append(w.b, byte(w.acc<<uint(8-w.n)))
		w.n = 0
	}
}

// segSpec describes the data to encode: a byte-mode segment, then
// optionally a numeric-mode segment.
type segSpec struct {
	bytes  string
	digits string // "" for none
}

func (s segSpec) bits(v int) int {
	n := 4 + shc.QRCountBits(4, v) + 8*len(s.bytes)
	if s.digits != "" {
		n += 4 + shc.QRCountBits(1, v) + 10*(len(s.digits)/3)
		n += [3]int{0, 4, 7}[len(s.digits)%3]
	}
	return n
}

// smallestVersion is the smallest version up to maxV that holds s at level
// l, or 0.
func (s segSpec) smallestVersion(l Level, maxV int) int {
	for v := 1; v <= maxV; v++ {
		if s.bits(v) <= shc.QRDataBits(v, l) {
			return v
		}
	}
	return 0
}

// dataCodewords builds the padded data codewords of s at version v.
func (s segSpec) dataCodewords(v int, l Level, buf []byte) []byte {
	capBytes := shc.QRDataBits(v, l) / 8
	w := bitWriter{b: buf[:0]}
	w.put(4, 4)
	w.put(uint32(len(s.bytes)), shc.QRCountBits(4, v))
	for i := 0; i < len(s.bytes); i++ {
		w.put(uint32(s.bytes[i]), 8)
	}
	if d := s.digits; d != "" {
		w.put(1, 4)
		w.put(uint32(len(d)), shc.QRCountBits(1, v))
		i := 0
		for ; i+3 <= len(d); i += 3 {
			w.put(uint32(d[i]-'0')*100+uint32(d[i+1]-'0')*10+uint32(d[i+2]-'0'), 10)
		}
		switch len(d) - i {
		case 2:
			w.put(uint32(d[i]-'0')*10+uint32(d[i+1]-'0'), 7)
		case 1:
			w.put(uint32(d[i]-'0'), 4)
		}
	}
	used := len(w.b)*8 + w.n
	w.put(0, min(4, capBytes*8-used)) // terminator
	w.flush()
	for pad := byte(0xec); len(w.b) < capBytes; pad ^= 0xec ^ 0x11 {
		w.b = append(w.b, pad)
	}
	return w.b
}

// codewords interleaves the data blocks and their error-correction
// codewords (ISO/IEC 18004 7.6).
func codewords(data []byte, v int, l Level, out []byte) []byte {
	blocks, ecLen := shc.QRBlocks(v, l)
	total := shc.QRTotalCodewords(v)
	numShort := blocks - total%blocks
	shortData := total/blocks - ecLen
	out = out[:total]
	var ecBuf [30 * 81]byte
	ec := ecBuf[:blocks*ecLen]
	// Data codewords: column by column across blocks; long blocks (the
	// last blocks-numShort) have one more.
	off := 0
	for b := 0; b < blocks; b++ {
		n := shortData
		if b >= numShort {
			n++
		}
		blk := data[off : off+n]
		rsEncode(blk, ec[b*ecLen:(b+1)*ecLen])
		for i, c := range blk {
			k := i * blocks
			if i == shortData { // only long blocks reach here
				k = shortData*blocks + (b - numShort)
			} else {
				k += b
			}
			out[k] = c
		}
		off += n
	}
	k := len(data)
	for i := 0; i < ecLen; i++ {
		for b := 0; b < blocks; b++ {
			out[k] = ec[b*ecLen+i]
			k++
		}
	}
	return out
}

// --- masks and penalty ---

// maskTable[m][(y%12)*12+x%12] is 1 where mask m flips a data module
// (256 entries so that a uint8 index needs no bounds check).
var maskTable [8][256]byte

func init() {
	for m := 0; m < 8; m++ {
		for y := 0; y < 12; y++ {
			for x := 0; x < 12; x++ {
				if maskFunc(m, x, y) {
					maskTable[m][y*12+x] = 1
				}
			}
		}
	}
}

// maskFunc is the mask condition of ISO/IEC 18004 table 10 for row y
// (i) and column x (j).
func maskFunc(m, x, y int) bool {
	switch m {
	case 0:
		return (y+x)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (y+x)%3 == 0
	case 4:
		return (y/2+x/3)%2 == 0
	case 5:
		return (y*x)%2+(y*x)%3 == 0
	case 6:
		return ((y*x)%2+(y*x)%3)%2 == 0
	default:
		return ((y+x)%2+(y*x)%3)%2 == 0
	}
}

// Penalty weights (ISO/IEC 18004 7.8.3, table 11).
const (
	penN1 = 3
	penN2 = 3
	penN3 = 40
	penN4 = 10
)
