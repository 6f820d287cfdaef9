package terminology

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestEveryCodeHasANameAndIsUnique(t *testing.T) {
	if len(table) < 100 {
		t.Fatalf("table has %d codes", len(table))
	}
	seen := map[key]bool{}
	for _, c := range table {
		k := key{c.System, c.Code}
		if seen[k] {
			t.Errorf("duplicate code %s|%s", c.System, c.Code)
		}
		seen[k] = true
		if strings.TrimSpace(c.Display) == "" || c.Display != strings.TrimSpace(c.Display) {
			t.Errorf("%s|%s: display %q", c.System, c.Code, c.Display)
		}
		if got := Display(c.System, c.Code); got != c.Display {
			t.Errorf("Display(%s, %s) = %q, want %q", c.System, c.Code, got, c.Display)
		}
		for _, g := range c.Groups {
			if !strings.HasPrefix(string(g), "lab:") && g.Disease() == "" {
				t.Errorf("%s|%s: group %q is neither lab: nor vaccine:", c.System, c.Code, g)
			}
		}
	}
	if len(index) != len(table) {
		t.Errorf("index has %d codes, table %d", len(index), len(table))
	}
}

// loincCheckDigit is LOINC's mod 10 check digit of the part before the
// hyphen.
func loincCheckDigit(num string) int {
	var odd, even strings.Builder // positions counted from the right
	for i := len(num) - 1; i >= 0; i-- {
		if (len(num)-1-i)%2 == 0 {
			odd.WriteByte(num[i])
		} else {
			even.WriteByte(num[i])
		}
	}
	rev := func(s string) string {
		b := []byte(s)
		for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return string(b)
	}
	o, _ := strconv.Atoi(rev(odd.String()))
	digits := rev(even.String()) + strconv.Itoa(2*o)
	sum := 0
	for _, d := range digits {
		sum += int(d - '0')
	}
	return (10 - sum%10) % 10
}

func TestLOINCCheckDigits(t *testing.T) {
	if loincCheckDigit("94500") != 6 || loincCheckDigit("718") != 7 || loincCheckDigit("94534") != 5 {
		t.Fatal("check digit helper is wrong")
	}
	for _, c := range table {
		if c.System != SystemLOINC {
			continue
		}
		num, check, ok := strings.Cut(c.Code, "-")
		if !ok || len(check) != 1 || strings.Trim(num, "0123456789") != "" {
			t.Errorf("LOINC %q is not NNNNN-N", c.Code)
			continue
		}
		if want := loincCheckDigit(num); int(check[0]-'0') != want {
			t.Errorf("LOINC %s: check digit should be %d", c.Code, want)
		}
	}
}

func TestGroups(t *testing.T) {
	for _, g := range []Group{COVID19Molecular, COVID19Antigen, COVID19Antibody, InfluenzaA, InfluenzaB, VaccineCOVID19, VaccineInfluenza, VaccineOrthopoxvirus} {
		m := Members(g)
		if len(m) == 0 {
			t.Errorf("group %s is empty", g)
		}
		for _, c := range m {
			if !c.In(g) || !InGroup(c.System, c.Code, g) {
				t.Errorf("%s lists %s|%s, which is not in it", g, c.System, c.Code)
			}
		}
	}
	gs := Groups()
	if len(gs) < 8 || gs[0] != COVID19Molecular {
		t.Errorf("Groups() = %v", gs)
	}
	for _, tc := range []struct {
		system, code string
		g            Group
		want         bool
	}{
		{SystemLOINC, "94500-6", COVID19Molecular, true},
		{SystemLOINC, "94500-6", COVID19Antigen, false},
		{SystemLOINC, "97097-0", COVID19Antigen, true},
		{SystemLOINC, "94563-4", COVID19Antibody, true},
		{SystemLOINC, "95423-0", InfluenzaB, true},
		{SystemCVX, "0208", VaccineCOVID19, true},
		{SystemCVX, "208", VaccineInfluenza, false},
		{SystemSNOMED, "260385009", COVID19Molecular, false},
		{SystemLOINC, "208", VaccineCOVID19, false}, // the system matters
	} {
		if got := InGroup(tc.system, tc.code, tc.g); got != tc.want {
			t.Errorf("InGroup(%s, %s, %s) = %v", tc.system, tc.code, tc.g, got)
		}
	}
	if Members("lab:nothing") != nil {
		t.Error("unknown group has members")
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct{ system, code, want string }{
		{SystemLOINC, "94500-6", "SARS-CoV-2 RNA Resp Ql NAA+probe"},
		{SystemCVX, "208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"},
		{SystemCVX, "08", "Hep B, adolescent or pediatric"},
		{SystemSNOMED, "260415000", "Not detected"},
		{SystemLOINC, "0000-0", ""},
		{"http://example.org", "208", ""},
		{SystemCVX, "", ""},
	} {
		if got := Display(tc.system, tc.code); got != tc.want {
			t.Errorf("Display(%s, %q) = %q, want %q", tc.system, tc.code, got, tc.want)
		}
	}
	c, ok := Lookup(SystemCVX, "207")
	if !ok || c.Code != "207" || !c.In(VaccineCOVID19) {
		t.Fatalf("Lookup 207: %+v %v", c, ok)
	}
	c.Groups[0] = "lab:changed" // a copy: the table does not change
	if !InGroup(SystemCVX, "207", VaccineCOVID19) {
		t.Error("Lookup returned the table's own slice")
	}
	if VaccineDisease("08") != "hepatitis-b" || VaccineDisease("148") != "hib" || VaccineDisease("999999") != "" {
		t.Error("VaccineDisease")
	}
	if SystemName(SystemLOINC) != "LOINC" || SystemName("x") != "" {
		t.Error("SystemName")
	}
	for in, want := range map[string]string{"08": "8", " 207 ": "207", "0": "0", "00": "0", "": ""} {
		if got := NormalizeCVX(in); got != want {
			t.Errorf("NormalizeCVX(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTableRefusesBadLines(t *testing.T) {
	for _, bad := range []string{"LOINC|1-1|", "XYZ|1||name", "CVX|08||Hep B", "LOINC|||name", "LOINC|1-1||"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("parseTable accepted %q", bad)
				}
			}()
			parseTable(bad)
		}()
	}
	if got := parseTable("# c\n\nCVX|8|vaccine:x,lab:y|n\n"); len(got) != 1 || len(got[0].Groups) != 2 {
		t.Errorf("parseTable: %+v", got)
	}
}

// The package imports only the standard library (an embedder's wallet
// links it without anything else).
func TestImportsStdlibOnly(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: the package must stay stdlib-only", f, p)
			}
		}
	}
}
