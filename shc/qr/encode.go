package qr

import (
	"fmt"

	"github.com/healthcards/healthcards/shc"
	"github.com/makiuchi-d/gozxing"
	zxdecoder "github.com/makiuchi-d/gozxing/qrcode/decoder"
	qrcode "github.com/skip2/go-qrcode"
)

// Level is a QR error-correction level.
type Level int

// Error-correction levels. L is the default: every official SMART Health
// Card QR uses it, and the 1195-character limit assumes it (SIZE-3, SIZE-4).
const (
	L Level = iota // about 7% of codewords can be restored
	M              // about 15%
	Q              // about 25%
	H              // about 30%
)

func (l Level) String() string {
	switch l {
	case L:
		return "L"
	case M:
		return "M"
	case Q:
		return "Q"
	case H:
		return "H"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

func (l Level) valid() bool { return l >= L && l <= H }

func (l Level) skip2() qrcode.RecoveryLevel {
	return [...]qrcode.RecoveryLevel{qrcode.Low, qrcode.Medium, qrcode.High, qrcode.Highest}[l]
}

func (l Level) zxing() zxdecoder.ErrorCorrectionLevel {
	return [...]zxdecoder.ErrorCorrectionLevel{zxdecoder.ErrorCorrectionLevel_L,
		zxdecoder.ErrorCorrectionLevel_M, zxdecoder.ErrorCorrectionLevel_Q,
		zxdecoder.ErrorCorrectionLevel_H}[l]
}

// MaxVersion is the largest QR version Encode produces: 105×105 modules,
// about 40 mm square when printed (SIZE-1, SIZE-2).
const MaxVersion = 22

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

// Code is an encoded QR symbol holding SMART Health Card QR text.
type Code struct {
	text    string
	level   Level
	version int
	modules [][]bool // [y][x], true = dark; no quiet zone
}

// Version returns the QR version (1..MaxVersion).
func (c *Code) Version() int { return c.version }

// Level returns the error-correction level.
func (c *Code) Level() Level { return c.level }

// Text returns the QR text the symbol holds.
func (c *Code) Text() string { return c.text }

// Size returns the number of modules per side, without the quiet zone.
func (c *Code) Size() int { return len(c.modules) }

// Dark reports whether the module at column x, row y (0-based, without the
// quiet zone) is dark. Out-of-range coordinates are light.
func (c *Code) Dark(x, y int) bool {
	return y >= 0 && y < len(c.modules) && x >= 0 && x < len(c.modules) && c.modules[y][x]
}

// Encode builds the QR symbol for SMART Health Card QR text: "shc:/"
// followed by digits, or a chunk "shc:/C/N/" followed by digits, as made by
// shc.EncodeQRText and shc.EncodeQRChunks.
//
// The symbol holds exactly two segments (QR-1, QR-3): a byte-mode segment
// with the prefix and a numeric-mode segment with every digit. Encode
// checks this on the symbol it produced (by reading the symbol back) and
// fails with CodeEncodeFailed rather than return anything else. It picks
// the smallest version that fits and refuses text that needs a version
// above MaxVersion with shc.CodeQRTooLarge; text that is not SMART Health Card QR text
// (strictly "shc:/" or "shc:/C/N/", then digit pairs 00..77) with
// shc.CodeMalformedInput.
func Encode(text string, opts ...Option) (*Code, error) {
	o := options{level: L}
	for _, opt := range opts {
		opt(&o)
	}
	if !o.level.valid() {
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

	modules, version, err := build(text, o.level)
	if err != nil {
		return nil, err
	}
	if version > MaxVersion {
		// Unreachable given the capacity check above; fail closed anyway.
		return nil, errorf(shc.CodeQRTooLarge, nil, "symbol version %d is above %d", version, MaxVersion)
	}
	c := &Code{text: text, level: o.level, version: version, modules: modules}
	if err := c.selfCheck(t); err != nil {
		return nil, err
	}
	return c, nil
}

// build runs skip2/go-qrcode and returns the module grid without the
// quiet zone. skip2 reports its own bugs with log.Panic; turn any panic into
// an error so bad luck never crashes the caller.
func build(text string, level Level) (modules [][]bool, version int, err error) {
	defer func() {
		if r := recover(); r != nil {
			modules, version = nil, 0
			err = errorf(CodeEncodeFailed, nil, "QR library panicked: %v", r)
		}
	}()
	q, err := qrcode.New(text, level.skip2())
	if err != nil {
		return nil, 0, errorf(CodeEncodeFailed, err, "QR library failed")
	}
	q.DisableBorder = true
	bm := q.Bitmap() // call once: skip2 appends padding on every call
	want := 17 + 4*q.VersionNumber
	if len(bm) != want {
		return nil, 0, errorf(CodeEncodeFailed, nil, "QR library returned %d modules for version %d", len(bm), q.VersionNumber)
	}
	for _, row := range bm {
		if len(row) != want {
			return nil, 0, errorf(CodeEncodeFailed, nil, "QR library returned a non-square symbol")
		}
	}
	return bm, q.VersionNumber, nil
}

// selfCheck reads the finished symbol back with an independent decoder
// (gozxing) and requires the level, the version, the text and exactly the
// two segments of QR-1: byte(prefix) then numeric(digits).
//
// skip2/go-qrcode picks segments itself (its optimiser coalesces "shc",
// ":/" and the chunk ordinals into one byte segment and keeps the digits
// numeric), but it offers no API to force segments, so this check is what
// guarantees QR-1/QR-3 for every symbol we hand out.
func (c *Code) selfCheck(t qrText) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errorf(CodeEncodeFailed, nil, "self-check decoder panicked: %v", r)
		}
	}()
	segs, version, level, text, err := readModules(c.modules)
	if err != nil {
		return errorf(CodeEncodeFailed, err, "produced symbol does not decode")
	}
	switch {
	case version != c.version || level != c.level:
		return errorf(CodeEncodeFailed, nil, "produced symbol reads as version %d level %s, want %d %s", version, level, c.version, c.level)
	case text != c.text:
		return errorf(CodeEncodeFailed, nil, "produced symbol reads back different text")
	case len(segs) != 2 || segs[0].mode != modeByte || segs[0].data != t.prefix ||
		segs[1].mode != modeNumeric || segs[1].data != t.digits:
		return errorf(CodeEncodeFailed, nil, "produced symbol has segments %s, want byte(%q) + numeric(%d digits) (QR-1)",
			describeSegments(segs), t.prefix, len(t.digits))
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

// readModules decodes a clean module grid (no quiet zone) and returns its
// segments, version, level and text.
func readModules(modules [][]bool) (segs []segment, version int, level Level, text string, err error) {
	dim := len(modules)
	bm, err := gozxing.NewSquareBitMatrix(dim)
	if err != nil {
		return nil, 0, 0, "", err
	}
	for y, row := range modules {
		for x, dark := range row {
			if dark {
				bm.Set(x, y)
			}
		}
	}
	return readBitMatrix(bm)
}

// readBitMatrix decodes a sampled symbol (gozxing BitMatrix, one bit per
// module) and lists its segments.
func readBitMatrix(bm *gozxing.BitMatrix) (segs []segment, version int, level Level, text string, err error) {
	res, err := zxdecoder.NewDecoder().Decode(bm, nil)
	if err != nil {
		return nil, 0, 0, "", err
	}
	version = (bm.GetWidth() - 17) / 4
	switch res.GetECLevel() {
	case "L":
		level = L
	case "M":
		level = M
	case "Q":
		level = Q
	case "H":
		level = H
	default:
		return nil, 0, 0, "", fmt.Errorf("unknown EC level %q", res.GetECLevel())
	}
	// A segment list that does not parse is reported as none: Encode's
	// self-check then fails, while Decode only needs the text.
	segs, perr := parseSegments(res.GetRawBytes(), version)
	if perr != nil {
		segs = nil
	}
	return segs, version, level, res.GetText(), nil
}

// dataBits is the data capacity, in bits, of a QR version at a level (ISO/IEC
// 18004 table 7), from gozxing's version table.
func dataBits(version int, level Level) int {
	v, err := zxdecoder.Version_GetVersionForNumber(version)
	if err != nil {
		return 0
	}
	ecb := v.GetECBlocksForLevel(level.zxing())
	return (v.GetTotalCodewords() - ecb.GetTotalECCodewords()) * 8
}

// segmentBits is the size, in bits, of a byte segment of prefixLen bytes
// plus a numeric segment of digits digits, for a given version.
func segmentBits(prefixLen, digits, version int) int {
	n := 4 + countBits(4, version) + 8*prefixLen + 4 + countBits(1, version) + 10*(digits/3)
	switch digits % 3 {
	case 1:
		n += 4
	case 2:
		n += 7
	}
	return n
}

// MaxJWSLen returns the longest JWS, in characters, whose QR text with a
// prefix of prefixLen bytes (5 for "shc:/", 9 for "shc:/1/3/") fits one
// version 22 QR code at level l. For "shc:/" this is 1195 (L), 927 (M),
// 670 (Q) and 519 (H), the SIZE-3 figures; it is computed from the
// version 22 capacity, not copied.
func MaxJWSLen(l Level, prefixLen int) int {
	if !l.valid() || prefixLen < 0 {
		return 0
	}
	have := dataBits(MaxVersion, l)
	lo, hi := 0, have/6+1 // each JWS char is 2 digits, >= 6.67 bits
	for lo < hi {         // largest n with segmentBits(prefix, 2n) <= have
		mid := (lo + hi + 1) / 2
		if segmentBits(prefixLen, 2*mid, MaxVersion) <= have {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
