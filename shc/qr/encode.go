package qr

import (
	"fmt"
	"sync"

	"github.com/healthcards/healthcards/shc"
	"github.com/makiuchi-d/gozxing"
)

// Level is a QR error-correction level; it is shc.QRLevel, so code that
// only sizes cards can name levels without importing this package.
type Level = shc.QRLevel

// Error-correction levels. L is the default: every official SMART Health
// Card QR uses it, and the 1195-character limit assumes it (SIZE-3, SIZE-4).
const (
	L = shc.QRLevelL // about 7% of codewords can be restored
	M = shc.QRLevelM // about 15%
	Q = shc.QRLevelQ // about 25%
	H = shc.QRLevelH // about 30%
)

// MaxVersion is the largest QR version Encode produces: 105×105 modules,
// about 40 mm square when printed (SIZE-1, SIZE-2).
const MaxVersion = shc.QRMaxVersion

// maxAnyVersion is the largest QR version there is; EncodeBytes may use it.
const maxAnyVersion = 40

// quietZone is the light border, in modules, around every rendered symbol.
const quietZone = 4

// Option configures Encode.
type Option func(*options)

type options struct {
	level Level
}

// WithLevel sets the error-correction level (default L). Higher levels
// lower the largest JWS that fits: 1195 (L), 927 (M), 670 (Q) and 519 (H)
// characters in one version 22 QR (SIZE-3).
func WithLevel(l Level) Option { return func(o *options) { o.level = l } }

// Code is an encoded QR symbol.
type Code struct {
	text    string
	level   Level
	version int
	size    int
	mask    int
	modules []byte // size*size, row-major, 1 = dark; no quiet zone
}

// Version returns the QR version (1..40; 1..MaxVersion from Encode).
func (c *Code) Version() int { return c.version }

// Level returns the error-correction level.
func (c *Code) Level() Level { return c.level }

// Mask returns the data mask pattern (0..7) chosen by the penalty rule.
func (c *Code) Mask() int { return c.mask }

// Text returns the text the symbol holds.
func (c *Code) Text() string { return c.text }

// Size returns the number of modules per side, without the quiet zone.
func (c *Code) Size() int { return c.size }

// Dark reports whether the module at column x, row y (0-based, without the
// quiet zone) is dark. Out-of-range coordinates are light.
func (c *Code) Dark(x, y int) bool {
	return y >= 0 && y < c.size && x >= 0 && x < c.size && c.modules[y*c.size+x] == 1
}

// Encode builds the QR symbol for SMART Health Card QR text: "shc:/"
// followed by digits, or a chunk "shc:/C/N/" followed by digits, as made by
// shc.EncodeQRText and shc.EncodeQRChunks.
//
// The symbol holds exactly two segments (QR-1, QR-3): a byte-mode segment
// with the prefix and a numeric-mode segment with every digit, in the
// smallest version that fits, with the mask the ISO/IEC 18004 penalty rule
// picks. Before returning, Encode reads the format and version information
// and the segment headers back from the module grid and fails with
// CodeEncodeFailed rather than return anything else. It refuses text that
// needs a version above MaxVersion with shc.CodeQRTooLarge; text that is not
// SMART Health Card QR text (strictly "shc:/" or "shc:/C/N/", then digit
// pairs 00..77) with shc.CodeMalformedInput.
func Encode(text string, opts ...Option) (*Code, error) {
	o := options{level: L}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.level.Valid() {
		return nil, errorf(shc.CodeMalformedInput, nil, "unknown error-correction level %d", int(o.level))
	}
	if len(text) > maxTextLen {
		return nil, errorf(shc.CodeQRTooLarge, nil, "QR text of %d bytes is far above what one version %d QR code holds", len(text), MaxVersion)
	}
	t, why, ok := parseText(text)
	if !ok {
		return nil, errorf(shc.CodeMalformedInput, nil, "%s", why)
	}
	jwsLen := len(t.digits) / 2
	if need, have := segmentBits(len(t.prefix), len(t.digits), MaxVersion), dataBits(MaxVersion, o.level); need > have {
		return nil, errorf(shc.CodeQRTooLarge, nil,
			"a JWS of %d characters does not fit one version %d QR code at level %s: the limit is %d characters (SIZE-3)",
			jwsLen, MaxVersion, o.level, MaxJWSLen(o.level, len(t.prefix)))
	}
	spec := segSpec{bytes: t.prefix, digits: t.digits}
	v := spec.smallestVersion(o.level, MaxVersion)
	if v == 0 { // unreachable given the check above; fail closed anyway
		return nil, errorf(shc.CodeQRTooLarge, nil, "no version up to %d holds the text", MaxVersion)
	}
	c := build(spec, v, o.level)
	c.text = text
	if err := c.structuralCheck(spec); err != nil {
		return nil, err
	}
	return c, nil
}

// EncodeBytes builds a QR symbol holding data as one byte-mode segment at
// level l, in the smallest of versions 1..40 that fits (shc.CodeQRTooLarge
// when none does). It is for non-card text such as SMART Health Links;
// callers must not use it for SMART Health Card QR text, which needs
// Encode's two segments (QR-1).
func EncodeBytes(data string, l Level) (*Code, error) {
	if !l.Valid() {
		return nil, errorf(shc.CodeMalformedInput, nil, "unknown error-correction level %d", int(l))
	}
	if data == "" {
		return nil, errorf(shc.CodeMalformedInput, nil, "empty data")
	}
	spec := segSpec{bytes: data}
	v := 0
	if len(data) <= 2953 { // version 40-L byte capacity
		v = spec.smallestVersion(l, maxAnyVersion)
	}
	if v == 0 {
		return nil, errorf(shc.CodeQRTooLarge, nil, "%d bytes do not fit a QR code at level %s", len(data), l)
	}
	c := build(spec, v, l)
	c.text = data
	if err := c.structuralCheck(spec); err != nil {
		return nil, err
	}
	return c, nil
}

// scratch is the per-call working memory of build, pooled.
type scratch struct {
	data, cw     []byte
	r, c, mr, mc []uint64 // bit planes (maskbits.go)
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// zeroWords returns b resized to n words, all zero.
func zeroWords(b []uint64, n int) []uint64 {
	if cap(b) < n {
		return make([]uint64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// build makes the symbol of spec at version v and level l: data codewords,
// Reed–Solomon, placement, then the mask with the lowest penalty (the
// first one on ties).
func build(spec segSpec, v int, l Level) *Code {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.data = spec.dataCodewords(v, l, s.data[:0])
	return buildData(s, v, l)
}

// buildData places s.data (the padded data codewords of version v, level
// l) and picks the mask.
func buildData(s *scratch, v int, l Level) *Code {
	t := versionTemplate(v)
	n := t.size
	s.cw = codewords(s.data, v, l, grow(s.cw, shc.QRTotalCodewords(v)))
	words := t.nw * t.stride
	s.r, s.c = zeroWords(s.r, words), zeroWords(s.c, words)
	s.mr, s.mc = zeroWords(s.mr, words), zeroWords(s.mc, words)
	// Placement: the codeword bits, most significant first, into the row
	// planes over the function patterns; remainder bits stay light.
	r := s.r
	copy(r, t.baseR)
	place := t.place[:len(s.cw)*8]
	for j, cw := range s.cw {
		p := (*[8]uint32)(place[j*8 : j*8+8])
		c := uint64(cw)
		r[p[0]>>6] |= c >> 7 & 1 << (p[0] & 63)
		r[p[1]>>6] |= c >> 6 & 1 << (p[1] & 63)
		r[p[2]>>6] |= c >> 5 & 1 << (p[2] & 63)
		r[p[3]>>6] |= c >> 4 & 1 << (p[3] & 63)
		r[p[4]>>6] |= c >> 3 & 1 << (p[4] & 63)
		r[p[5]>>6] |= c >> 2 & 1 << (p[5] & 63)
		r[p[6]>>6] |= c >> 1 & 1 << (p[6] & 63)
		r[p[7]>>6] |= c & 1 << (p[7] & 63)
	}
	transposePlanes(r, s.c, n, t.nw, t.stride)
	best := chooseMask(t, l, r, s.c, s.mr, s.mc)
	out := make([]byte, n*n+8)[:n*n]
	expandRows(s.mr, n, t.stride, out)
	return &Code{level: l, version: v, size: n, mask: best, modules: out}
}

// structuralCheck is the hot-path proof that the grid is what it should be
// (QR-1, QR-3): both copies of the format information give this level and
// mask, both copies of the version information (version 7 and up) give
// this version, and the data codewords read back from the grid through the
// mask hold exactly the expected segments. The full independent decode
// (gozxing, zbar) is done in the tests and fuzz targets.
func (c *Code) structuralCheck(spec segSpec) error {
	t := versionTemplate(c.version)
	n := c.size
	if n != 17+4*c.version || len(c.modules) != n*n {
		return errorf(CodeEncodeFailed, nil, "grid of %d modules for version %d", len(c.modules), c.version)
	}
	fb := formatBits(c.level, c.mask)
	for k := 0; k < 2; k++ {
		got := 0
		for i := 0; i < 15; i++ {
			got |= int(c.modules[t.format[k][i]]) << i
		}
		if got != fb {
			return errorf(CodeEncodeFailed, nil, "format information copy %d is %015b, want %015b", k+1, got, fb)
		}
	}
	if c.version >= 7 {
		vb := versionBits(c.version)
		for i := 0; i < 18; i++ {
			a, b := n-11+i%3, i/3
			want := byte(vb >> i & 1)
			if c.modules[b*n+a] != want || c.modules[a*n+b] != want {
				return errorf(CodeEncodeFailed, nil, "version information bit %d is wrong", i)
			}
		}
	}
	// Read the codewords back through the mask, then de-interleave the
	// data codewords and list the segments.
	total := shc.QRTotalCodewords(c.version)
	blocks, ecLen := shc.QRBlocks(c.version, c.level)
	nData := total - blocks*ecLen // the first nData codewords are data
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.cw = grow(s.cw, nData)
	order, mods, flip := t.order[:nData*8], c.modules, t.maskCW[c.mask][:nData]
	for j := range s.cw {
		o := (*[8]uint16)(order[j*8 : j*8+8])
		s.cw[j] = (mods[o[0]]<<7 | mods[o[1]]<<6 | mods[o[2]]<<5 | mods[o[3]]<<4 |
			mods[o[4]]<<3 | mods[o[5]]<<2 | mods[o[6]]<<1 | mods[o[7]]) ^ flip[j]
	}
	numShort := blocks - total%blocks
	shortData := total/blocks - ecLen
	s.data = grow(s.data, total-blocks*ecLen)
	k := 0
	for b := 0; b < blocks; b++ {
		nd := shortData
		if b >= numShort {
			nd++
		}
		for i := 0; i < nd; i++ {
			if i < shortData {
				s.data[k] = s.cw[i*blocks+b]
			} else {
				s.data[k] = s.cw[shortData*blocks+b-numShort]
			}
			k++
		}
	}
	segs, err := parseSegments(s.data, c.version)
	want := 1
	if spec.digits != "" {
		want = 2
	}
	if err != nil || len(segs) != want || segs[0].mode != modeByte || segs[0].data != spec.bytes ||
		(want == 2 && (segs[1].mode != modeNumeric || segs[1].data != spec.digits)) {
		return errorf(CodeEncodeFailed, err, "produced symbol has segments %s, want byte(%d) + numeric(%d digits) (QR-1)",
			describeSegments(segs), len(spec.bytes), len(spec.digits))
	}
	return nil
}

func describeSegments(segs []segment) string {
	s := ""
	for i, g := range segs {
		if i > 0 {
			s += " + "
		}
		s += fmt.Sprintf("%s(%d)", g.mode, len(g.data))
	}
	if s == "" {
		s = "none"
	}
	return s
}

// readModules decodes a clean module grid (size×size, row-major, no quiet
// zone) with the independent decoder (gozxing) and returns its segments,
// version, level and text. Tests use it to prove what Encode built.
func readModules(size int, modules []byte) (segs []segment, version int, level Level, text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	bm, err := gozxing.NewSquareBitMatrix(size)
	if err != nil {
		return nil, 0, 0, "", err
	}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if modules[y*size+x] == 1 {
				bm.Set(x, y)
			}
		}
	}
	return readBitMatrix(bm)
}

// dataBits is the data capacity, in bits, of a QR version at a level
// (shc.QRDataBits).
func dataBits(version int, level Level) int { return shc.QRDataBits(version, level) }

// segmentBits is the size, in bits, of a byte segment of prefixLen bytes
// plus a numeric segment of digits digits, for a given version.
func segmentBits(prefixLen, digits, version int) int {
	return shc.QRSegmentBits(prefixLen, digits, version)
}

// MaxJWSLen returns the longest JWS, in characters, whose QR text with a
// prefix of prefixLen bytes (5 for "shc:/", 9 for "shc:/1/3/") fits one
// version 22 QR code at level l: 1195 (L), 927 (M), 670 (Q) and 519 (H)
// for "shc:/" (SIZE-3). It is shc.MaxQRJWSLen.
func MaxJWSLen(l Level, prefixLen int) int { return shc.MaxQRJWSLen(l, prefixLen) }
