package shc

import "testing"

// SIZE-3: the single-QR limits follow from the version 22 capacity.
func TestMaxQRJWSLen_SIZE3(t *testing.T) {
	for _, tc := range []struct {
		l      QRLevel
		prefix int
		want   int
	}{
		{QRLevelL, 5, 1195}, {QRLevelM, 5, 927}, {QRLevelQ, 5, 670}, {QRLevelH, 5, 519},
		{QRLevelL, len("shc:/1/2/"), 1191}, // SIZE-2: chunk size
	} {
		if got := MaxQRJWSLen(tc.l, tc.prefix); got != tc.want {
			t.Errorf("MaxQRJWSLen(%s, %d) = %d, want %d", tc.l, tc.prefix, got, tc.want)
		}
		// One more character does not fit; the limit itself does.
		bits := QRDataBits(QRMaxVersion, tc.l)
		if QRSegmentBits(tc.prefix, 2*tc.want, QRMaxVersion) > bits || QRSegmentBits(tc.prefix, 2*tc.want+2, QRMaxVersion) <= bits {
			t.Errorf("%s: %d is not the largest fitting length", tc.l, tc.want)
		}
	}
	if MaxQRJWSLen(QRLevel(4), 5) != 0 || MaxQRJWSLen(QRLevelL, -1) != 0 {
		t.Error("bad arguments must give 0")
	}
}

// Spot values from ISO/IEC 18004 table 1 and table 7 (data codewords).
func TestQRCapacityTables(t *testing.T) {
	for _, tc := range []struct {
		v, total, dataL, dataH int
	}{
		{1, 26, 19, 9}, {7, 196, 156, 66}, {10, 346, 274, 122}, {18, 901, 721, 313},
		{22, 1258, 1006, 442}, {40, 3706, 2956, 1276},
	} {
		if got := QRTotalCodewords(tc.v); got != tc.total {
			t.Errorf("v%d total %d, want %d", tc.v, got, tc.total)
		}
		if got := QRDataBits(tc.v, QRLevelL) / 8; got != tc.dataL {
			t.Errorf("v%d L data %d, want %d", tc.v, got, tc.dataL)
		}
		if got := QRDataBits(tc.v, QRLevelH) / 8; got != tc.dataH {
			t.Errorf("v%d H data %d, want %d", tc.v, got, tc.dataH)
		}
	}
	if QRTotalCodewords(0) != 0 || QRTotalCodewords(41) != 0 || QRDataBits(41, QRLevelL) != 0 {
		t.Error("out-of-range versions must give 0")
	}
	if QRLevelQ.String() != "Q" || QRLevel(9).String() != "Level(9)" {
		t.Error("String")
	}
}
