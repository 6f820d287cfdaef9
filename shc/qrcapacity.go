package shc

import "fmt"

// QR capacity math (ISO/IEC 18004 tables 1, 3 and 9), kept here so that
// code which only sizes cards (the issuer choosing between one QR and
// chunks) need not link the image package shc/qr. Package shc/qr builds its
// symbols from the same tables.

// QRLevel is a QR error-correction level. The zero value is L, the level of
// every official SMART Health Card QR (SIZE-3, SIZE-4). shc/qr.Level is the
// same type.
type QRLevel int

// Error-correction levels.
const (
	QRLevelL QRLevel = iota // about 7% of codewords can be restored
	QRLevelM                // about 15%
	QRLevelQ                // about 25%
	QRLevelH                // about 30%
)

func (l QRLevel) String() string {
	switch l {
	case QRLevelL:
		return "L"
	case QRLevelM:
		return "M"
	case QRLevelQ:
		return "Q"
	case QRLevelH:
		return "H"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Valid reports whether l is one of L, M, Q and H.
func (l QRLevel) Valid() bool { return l >= QRLevelL && l <= QRLevelH }

// QRMaxVersion is the largest QR version a SMART Health Card uses: 105×105
// modules, about 40 mm square when printed (SIZE-1, SIZE-2).
const QRMaxVersion = 22

// qrBlocks is, per level (L, M, Q, H) and version 1..40, the number of
// error-correction blocks and the error-correction codewords per block
// (ISO/IEC 18004 table 9).
var qrBlocks = [4][40][2]uint8{
	{{1, 7}, {1, 10}, {1, 15}, {1, 20}, {1, 26}, {2, 18}, {2, 20}, {2, 24}, {2, 30}, {4, 18}, {4, 20}, {4, 24}, {4, 26}, {4, 30}, {6, 22}, {6, 24}, {6, 28}, {6, 30}, {7, 28}, {8, 28}, {8, 28}, {9, 28}, {9, 30}, {10, 30}, {12, 26}, {12, 28}, {12, 30}, {13, 30}, {14, 30}, {15, 30}, {16, 30}, {17, 30}, {18, 30}, {19, 30}, {19, 30}, {20, 30}, {21, 30}, {22, 30}, {24, 30}, {25, 30}},
	{{1, 10}, {1, 16}, {1, 26}, {2, 18}, {2, 24}, {4, 16}, {4, 18}, {4, 22}, {5, 22}, {5, 26}, {5, 30}, {8, 22}, {9, 22}, {9, 24}, {10, 24}, {10, 28}, {11, 28}, {13, 26}, {14, 26}, {16, 26}, {17, 26}, {17, 28}, {18, 28}, {20, 28}, {21, 28}, {23, 28}, {25, 28}, {26, 28}, {28, 28}, {29, 28}, {31, 28}, {33, 28}, {35, 28}, {37, 28}, {38, 28}, {40, 28}, {43, 28}, {45, 28}, {47, 28}, {49, 28}},
	{{1, 13}, {1, 22}, {2, 18}, {2, 26}, {4, 18}, {4, 24}, {6, 18}, {6, 22}, {8, 20}, {8, 24}, {8, 28}, {10, 26}, {12, 24}, {16, 20}, {12, 30}, {17, 24}, {16, 28}, {18, 28}, {21, 26}, {20, 30}, {23, 28}, {23, 30}, {25, 30}, {27, 30}, {29, 30}, {34, 28}, {34, 30}, {35, 30}, {38, 30}, {40, 30}, {43, 30}, {45, 30}, {48, 30}, {51, 30}, {53, 30}, {56, 30}, {59, 30}, {62, 30}, {65, 30}, {68, 30}},
	{{1, 17}, {1, 28}, {2, 22}, {4, 16}, {4, 22}, {4, 28}, {5, 26}, {6, 26}, {8, 24}, {8, 28}, {11, 24}, {11, 28}, {16, 22}, {16, 24}, {18, 24}, {16, 30}, {19, 28}, {21, 28}, {25, 26}, {25, 28}, {25, 30}, {34, 24}, {30, 30}, {32, 30}, {35, 30}, {37, 30}, {40, 30}, {42, 30}, {45, 30}, {48, 30}, {51, 30}, {54, 30}, {57, 30}, {60, 30}, {63, 30}, {66, 30}, {70, 30}, {74, 30}, {77, 30}, {81, 30}},
}

// QRTotalCodewords is the number of 8-bit codewords (data plus error
// correction) of a QR version 1..40, or 0 for other versions. It counts the
// modules left once the function patterns are placed, so it is computed,
// not tabulated.
func QRTotalCodewords(version int) int {
	if version < 1 || version > 40 {
		return 0
	}
	size := 17 + 4*version
	n := size*size - 3*64 - 31 // finders with separators, format info + dark module
	n -= 2 * (size - 16)       // timing patterns
	if version >= 2 {
		a := version/7 + 2 // alignment patterns per row
		n -= 25 * (a*a - 3)
		n += 10 * (a - 2) // those on the timing lines were counted twice
	}
	if version >= 7 {
		n -= 36 // two version-information blocks
	}
	return n / 8
}

// QRBlocks returns the error-correction structure of a version 1..40 at
// level l: the number of blocks and the error-correction codewords in each.
// It returns zeros for an unknown version or level.
func QRBlocks(version int, l QRLevel) (blocks, ecPerBlock int) {
	if version < 1 || version > 40 || !l.Valid() {
		return 0, 0
	}
	b := qrBlocks[l][version-1]
	return int(b[0]), int(b[1])
}

// QRDataBits is the data capacity, in bits, of a QR version 1..40 at level
// l (0 for an unknown version or level).
func QRDataBits(version int, l QRLevel) int {
	blocks, ec := QRBlocks(version, l)
	if blocks == 0 {
		return 0
	}
	return (QRTotalCodewords(version) - blocks*ec) * 8
}

// QRCountBits is the width of the character-count field of a segment in
// numeric (1), alphanumeric (2) or byte (4) mode at a version (ISO/IEC
// 18004 table 3); 0 for another mode.
func QRCountBits(mode, version int) int {
	idx := 0
	switch {
	case version >= 27:
		idx = 2
	case version >= 10:
		idx = 1
	}
	switch mode {
	case 1:
		return [3]int{10, 12, 14}[idx]
	case 2:
		return [3]int{9, 11, 13}[idx]
	case 4:
		return [3]int{8, 16, 16}[idx]
	}
	return 0
}

// QRSegmentBits is the size, in bits, of the two segments of SMART Health
// Card QR text (QR-1): a byte-mode segment of prefixLen bytes ("shc:/" or
// "shc:/C/N/") plus a numeric-mode segment of digits digits, at a version.
func QRSegmentBits(prefixLen, digits, version int) int {
	n := 4 + QRCountBits(4, version) + 8*prefixLen + 4 + QRCountBits(1, version) + 10*(digits/3)
	switch digits % 3 {
	case 1:
		n += 4
	case 2:
		n += 7
	}
	return n
}

// MaxQRJWSLen returns the longest JWS, in characters, whose QR text with a
// prefix of prefixLen bytes (5 for "shc:/", 9 for "shc:/1/3/") fits one
// version 22 QR code at level l. For "shc:/" this is 1195 (L), 927 (M),
// 670 (Q) and 519 (H), the SIZE-3 figures; it is computed from the version
// 22 capacity, not copied.
func MaxQRJWSLen(l QRLevel, prefixLen int) int {
	if !l.Valid() || prefixLen < 0 {
		return 0
	}
	have := QRDataBits(QRMaxVersion, l)
	lo, hi := 0, have/6+1 // each JWS char is 2 digits, >= 6.67 bits
	for lo < hi {         // largest n with QRSegmentBits(prefix, 2n) <= have
		mid := (lo + hi + 1) / 2
		if QRSegmentBits(prefixLen, 2*mid, QRMaxVersion) <= have {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
