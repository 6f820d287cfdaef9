package qr

import (
	"encoding/binary"
	"fmt"

	"github.com/healthcards/healthcards/shc"
)

// Segment modes as named in ISO/IEC 18004.
const (
	modeNumeric      = "numeric"
	modeAlphanumeric = "alphanumeric"
	modeByte         = "byte"
)

// segment is one data segment read back from a QR symbol's data codewords.
type segment struct {
	mode string // modeNumeric, modeAlphanumeric, modeByte, or another mode's name
	data string // decoded characters (numeric, alphanumeric, byte modes)
}

// bitReader reads big-endian bit fields from the data codewords.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) left() int { return len(r.b)*8 - r.pos }

func (r *bitReader) read(n int) (int, bool) {
	if n < 0 || n > 24 || r.left() < n {
		return 0, false
	}
	// The n bits lie in at most four bytes from pos/8: gather them
	// big-endian into a word and cut the field out.
	i, off := r.pos>>3, uint(r.pos&7)
	if i+8 <= len(r.b) {
		r.pos += n
		return int(binary.BigEndian.Uint64(r.b[i:i+8]) << off >> (64 - uint(n))), true
	}
	var w uint32
	for k, end := i, (r.pos+n+7)>>3; k < i+4; k++ {
		w <<= 8
		if k < end {
			w |= uint32(r.b[k])
		}
	}
	r.pos += n
	return int(w << off >> (32 - uint(n))), true
}

// countBits is the width of the character-count field for a mode
// indicator and version (ISO/IEC 18004 table 3).
func countBits(mode, version int) int { return shc.QRCountBits(mode, version) }

const alnumChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// parseSegments lists the segments in a symbol's (error-corrected) data
// codewords. It stops at the terminator, at the end of the data, or after
// the first segment of a mode it does not decode (ECI, Kanji, structured
// append, FNC1, ...), which it reports by name with empty data. It is used
// to prove QR-1/QR-3 (exactly byte + numeric) on the symbols we produce.
func parseSegments(raw []byte, version int) ([]segment, error) {
	r := &bitReader{b: raw}
	var segs []segment
	for r.left() >= 4 {
		mode, _ := r.read(4)
		if mode == 0 {
			break // terminator
		}
		cb := countBits(mode, version)
		if cb == 0 {
			segs = append(segs, segment{mode: fmt.Sprintf("mode-%04b", mode)})
			return segs, nil
		}
		n, ok := r.read(cb)
		if !ok {
			return segs, fmt.Errorf("truncated character count")
		}
		buf := make([]byte, 0, n)
		switch mode {
		case 1:
			for n-len(buf) >= 3 {
				v, ok := r.read(10)
				if !ok || v > 999 {
					return segs, fmt.Errorf("bad numeric group")
				}
				buf = append(buf, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
			}
			switch n - len(buf) {
			case 2:
				v, ok := r.read(7)
				if !ok || v > 99 {
					return segs, fmt.Errorf("bad numeric group")
				}
				buf = append(buf, byte('0'+v/10), byte('0'+v%10))
			case 1:
				v, ok := r.read(4)
				if !ok || v > 9 {
					return segs, fmt.Errorf("bad numeric group")
				}
				buf = append(buf, byte('0'+v))
			}
			segs = append(segs, segment{mode: modeNumeric, data: string(buf)})
		case 2:
			for n-len(buf) >= 2 {
				v, ok := r.read(11)
				if !ok || v >= 45*45 {
					return segs, fmt.Errorf("bad alphanumeric pair")
				}
				buf = append(buf, alnumChars[v/45], alnumChars[v%45])
			}
			if n-len(buf) == 1 {
				v, ok := r.read(6)
				if !ok || v >= 45 {
					return segs, fmt.Errorf("bad alphanumeric character")
				}
				buf = append(buf, alnumChars[v])
			}
			segs = append(segs, segment{mode: modeAlphanumeric, data: string(buf)})
		case 4:
			for len(buf) < n {
				v, ok := r.read(8)
				if !ok {
					return segs, fmt.Errorf("truncated byte segment")
				}
				buf = append(buf, byte(v))
			}
			segs = append(segs, segment{mode: modeByte, data: string(buf)})
		}
	}
	return segs, nil
}
