package qr

import (
	"strconv"
	"strings"
)

const (
	// textPrefix starts every SMART Health Card QR text (QR-1, QR-4).
	textPrefix = "shc:/"
	// maxTextLen bounds the QR text this package looks at. A version 40
	// QR holds at most 7089 digits; anything longer is not QR text.
	maxTextLen = 8192
	// maxChunks bounds C and N of a chunk prefix "shc:/C/N/"; the format
	// core accepts the same range.
	maxChunks = 99
)

// qrText is SMART Health Card QR text split into the two segments QR-1
// requires: the byte-mode prefix ("shc:/" or "shc:/C/N/") and the
// numeric-mode digits.
type qrText struct {
	prefix string
	digits string
}

// parseText checks that s is SMART Health Card QR text: "shc:/", an
// optional chunk prefix "C/N/" with 1 <= C <= N (QR-1), then a non-empty,
// even number of digits whose pairs are each 00..77 (QR-2, QR-4).
func parseText(s string) (qrText, string, bool) {
	if len(s) > maxTextLen {
		return qrText{}, "QR text longer than " + strconv.Itoa(maxTextLen) + " bytes", false
	}
	if !strings.HasPrefix(s, textPrefix) {
		return qrText{}, "QR text does not start with \"shc:/\"", false
	}
	rest := s[len(textPrefix):]
	prefixLen := len(textPrefix)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		// Chunked: C/N/digits.
		c, ok1 := chunkNumber(rest[:i])
		rest2 := rest[i+1:]
		j := strings.IndexByte(rest2, '/')
		if j < 0 {
			return qrText{}, "malformed chunk prefix (want shc:/C/N/)", false
		}
		n, ok2 := chunkNumber(rest2[:j])
		if !ok1 || !ok2 || c > n {
			return qrText{}, "malformed chunk prefix (want shc:/C/N/ with 1 <= C <= N)", false
		}
		prefixLen += i + 1 + j + 1
		rest = rest2[j+1:]
	}
	if rest == "" {
		return qrText{}, "QR text has no digits", false
	}
	if len(rest)%2 != 0 {
		return qrText{}, "QR text has an odd number of digits", false
	}
	for i := 0; i < len(rest); i += 2 {
		a, b := rest[i], rest[i+1]
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return qrText{}, "QR text has a non-digit after the prefix", false
		}
		if (a-'0')*10+(b-'0') > 77 {
			return qrText{}, "QR text has a digit pair above 77", false
		}
	}
	return qrText{prefix: s[:prefixLen], digits: rest}, "", true
}

// chunkNumber parses a chunk ordinal or total: decimal, no sign, no
// leading zero, 1..maxChunks.
func chunkNumber(s string) (int, bool) {
	if s == "" || len(s) > 2 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= maxChunks
}
