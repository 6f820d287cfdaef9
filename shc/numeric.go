package shc

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// QRScheme is the prefix of every SMART Health Card QR text (QR-1, QR-4).
const QRScheme = "shc:/"

// Single-QR and chunk sizes (SIZE-2, SIZE-3).
const (
	// MaxSingleQRJWS is the longest JWS that fits one version-22 QR at
	// error correction L.
	MaxSingleQRJWS = 1195
	// MaxChunkJWS is the longest JWS slice a legacy chunk may carry.
	MaxChunkJWS = 1191
)

// QRText is one parsed shc:/ text. Index and Total are 1 for an unchunked card.
type QRText struct {
	Index, Total int
	Digits       string // the numeric segment (QR-2)
}

// Prefix returns the byte-segment part of the text: "shc:/" or "shc:/C/N/".
func (q QRText) Prefix() string {
	if q.Total <= 1 {
		return QRScheme
	}
	return QRScheme + strconv.Itoa(q.Index) + "/" + strconv.Itoa(q.Total) + "/"
}

// String returns the full QR text.
func (q QRText) String() string { return q.Prefix() + q.Digits }

// EncodeNumeric maps each JWS character c to the two digits of ord(c)-45
// (QR-2). It fails on characters outside the JWS alphabet.
func EncodeNumeric(jws string) (string, error) {
	b := make([]byte, 2*len(jws))
	for i := 0; i < len(jws); i++ {
		v := int(jws[i]) - 45
		if v < 0 || v > 77 {
			return "", errorf(CodeMalformedJWS, "character %q at offset %d cannot be QR-encoded (QR-2)", jws[i], i)
		}
		b[2*i] = byte('0' + v/10)
		b[2*i+1] = byte('0' + v%10)
	}
	return string(b), nil
}

// DecodeNumeric reverses EncodeNumeric, rejecting odd digit counts, non-digits
// and pairs above 77 (QR-4).
func DecodeNumeric(digits string) (string, error) {
	if len(digits)%2 != 0 {
		return "", errorf(CodeMalformedQR, "odd number of digits (%d) (QR-4)", len(digits))
	}
	out := make([]byte, len(digits)/2)
	for i := 0; i < len(out); i++ {
		hi, lo := digits[2*i], digits[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return "", errorf(CodeMalformedQR, "non-digit at offset %d", 2*i)
		}
		v := int(hi-'0')*10 + int(lo-'0')
		if v > 77 {
			return "", errorf(CodeMalformedQR, "digit pair %02d at offset %d is above 77 (QR-4)", v, 2*i)
		}
		out[i] = byte(v + 45)
	}
	return string(out), nil
}

// EncodeQRText returns the single-QR text "shc:/" + digits for jws. It does
// not check size: whether it fits one QR depends on the error-correction
// level (see package shc/qr).
func EncodeQRText(jws string) (string, error) {
	d, err := EncodeNumeric(jws)
	if err != nil {
		return "", err
	}
	return QRScheme + d, nil
}

// EncodeQRChunks splits jws into balanced legacy chunks of at most maxLen JWS
// characters each (QR-5; SIZE-2: maxLen 0 means MaxChunkJWS) and returns one
// "shc:/C/N/digits" text per chunk. A JWS that fits in one chunk gives one
// unprefixed "shc:/digits" text. Chunking is deprecated (QR-7): prefer a
// SMART Health Link for large cards.
func EncodeQRChunks(jws string, maxLen int) ([]string, error) {
	if maxLen <= 0 {
		maxLen = MaxChunkJWS
	}
	if len(jws) <= maxLen {
		t, err := EncodeQRText(jws)
		if err != nil {
			return nil, err
		}
		return []string{t}, nil
	}
	n := (len(jws) + maxLen - 1) / maxLen
	if n > maxChunks {
		return nil, errorf(CodeQRTooLarge, "JWS of %d characters needs %d chunks, more than %d", len(jws), n, maxChunks)
	}
	size := (len(jws) + n - 1) / n
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		end := min((i+1)*size, len(jws))
		d, err := EncodeNumeric(jws[i*size : end])
		if err != nil {
			return nil, err
		}
		out = append(out, QRText{Index: i + 1, Total: n, Digits: d}.String())
	}
	return out, nil
}

// ParseQRText parses one shc:/ text, tolerating surrounding whitespace and an
// upper-case scheme (some scanners upper-case byte segments). It checks the
// digits but does not decode them.
func ParseQRText(s string) (QRText, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxQRTextBytes {
		return QRText{}, errorf(CodePayloadTooLarge, "QR text of %d bytes", len(s))
	}
	if len(s) < len(QRScheme) || !strings.EqualFold(s[:len(QRScheme)], QRScheme) {
		return QRText{}, errorf(CodeMalformedQR, "text does not start with %q (QR-4)", QRScheme)
	}
	rest := s[len(QRScheme):]
	q := QRText{Index: 1, Total: 1}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 {
			return QRText{}, errorf(CodeMalformedQR, "chunk prefix must be C/N/ (QR-1)")
		}
		c, err1 := strconv.Atoi(parts[0])
		n, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || c < 1 || n < 1 || c > n || n > maxChunks {
			return QRText{}, errorf(CodeMalformedQR, "bad chunk ordinal %q/%q (QR-4: 1 <= C <= N)", parts[0], parts[1])
		}
		q.Index, q.Total, rest = c, n, parts[2]
	}
	if rest == "" {
		return QRText{}, errorf(CodeMalformedQR, "no digits after the prefix")
	}
	if len(rest)%2 != 0 {
		return QRText{}, errorf(CodeMalformedQR, "odd number of digits (%d) (QR-4)", len(rest))
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return QRText{}, errorf(CodeMalformedQR, "non-digit %q at offset %d of the numeric segment", rest[i], i)
		}
	}
	q.Digits = rest
	return q, nil
}

// DecodeQRText turns one or more shc:/ texts into the JWS. Chunks may come in
// any order (QR-6); all must belong to one card (same N, no duplicates), and
// a missing chunk is reported with CodeChunkMissing.
func DecodeQRText(texts ...string) (string, error) {
	if len(texts) == 0 {
		return "", errorf(CodeMalformedQR, "no QR text")
	}
	parts := make([]QRText, 0, len(texts))
	for _, t := range texts {
		q, err := ParseQRText(t)
		if err != nil {
			return "", err
		}
		parts = append(parts, q)
	}
	total := parts[0].Total
	seen := make(map[int]bool, len(parts))
	for _, p := range parts {
		if p.Total != total {
			return "", errorf(CodeMalformedQR, "chunks from different cards (%d and %d total)", total, p.Total)
		}
		if seen[p.Index] {
			return "", errorf(CodeMalformedQR, "chunk %d/%d given twice", p.Index, total)
		}
		seen[p.Index] = true
	}
	if len(parts) < total {
		var missing []string
		for i := 1; i <= total; i++ {
			if !seen[i] {
				missing = append(missing, strconv.Itoa(i))
			}
		}
		return "", &Error{Code: CodeChunkMissing, Msg: fmt.Sprintf("missing chunk(s) %s of %d", strings.Join(missing, ", "), total)}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].Index < parts[j].Index })
	var sb strings.Builder
	for _, p := range parts {
		s, err := DecodeNumeric(p.Digits)
		if err != nil {
			return "", err
		}
		sb.WriteString(s)
	}
	return sb.String(), nil
}
