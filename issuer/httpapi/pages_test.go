package httpapi_test

import (
	"html"
	"strings"
	"testing"

	"github.com/healthcards/healthcards/examples/bundles"
	"github.com/healthcards/healthcards/issuer/httpapi/httpapitest"
	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/verifier"
)

// A lab report with its results, performed by a practitioner on the card.
const reportBundle = `{"resourceType":"Bundle","type":"collection","entry":[
 {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Doe","given":["Ann"]}],"birthDate":"1990-05-06"}},
 {"fullUrl":"urn:uuid:dr","resource":{"resourceType":"Practitioner","id":"dr1","name":[{"family":"House","given":["Greg"]}]}},
 {"fullUrl":"urn:uuid:r","resource":{"resourceType":"DiagnosticReport","id":"r1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"58410-2"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-03-04T08:00:00Z","performer":[{"reference":"urn:uuid:dr"}],"result":[{"reference":"urn:uuid:h"}]}},
 {"fullUrl":"urn:uuid:h","resource":{"resourceType":"Observation","id":"h1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"subject":{"reference":"urn:uuid:p"},"effectiveDateTime":"2026-03-04T08:00:00Z","performer":[{"reference":"urn:uuid:dr"}],"valueQuantity":{"value":13.5,"unit":"g/dL"}}}]}`

// The printable page shows exactly the verifier's summary of each card:
// the same names for the same codes (package terminology), the same
// values, dates and performers.
func TestPrintPageShowsTheVerifierSummary(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	rows := 0
	for name, b := range map[string][]byte{
		"sample": sample, "lab": bundles.LabCovidPCR, "immunizations": bundles.ImmunizationsCOVID, "report": []byte(reportBundle),
	} {
		for _, c := range issue(t, s, b).Cards {
			page := string(do(t, s, "GET", strings.TrimPrefix(c.Links.Print, s.URL), "", "", nil).Body)
			card, err := shc.Parse(c.JWS)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := verifier.Summarize(card.UnsafePayloadWithoutVerification().VC.CredentialSubject.FHIRBundle)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, im := range sum.Immunizations {
				if im.Vaccine.Name == "" {
					t.Errorf("%s: vaccine %s has no name", name, im.Vaccine.Code)
				}
				want = append(want, "<td>"+im.Vaccine.Label(), ">"+im.Date[:10]+"<", "<td>"+im.Performer+"</td>")
			}
			for _, lr := range sum.LabResults {
				if lr.Test.Name == "" {
					t.Errorf("%s: test %s has no name", name, lr.Test.Code)
				}
				want = append(want, "<td>"+lr.Text()+"</td>", ">"+lr.Date[:10]+"<", "<td>"+lr.Performer+"</td>")
			}
			for _, rep := range sum.LabReports {
				want = append(want, "<td>"+rep.Test.Label()+"</td>", "<td>"+rep.Performer+"</td>")
			}
			if sum.Patient != nil {
				want = append(want, sum.Patient.Name)
			}
			if len(want) < 4 {
				t.Fatalf("%s: card %s summarized to almost nothing: %+v", name, c.ID, sum)
			}
			for _, w := range want {
				rows++
				if !strings.Contains(html.UnescapeString(page), w) {
					t.Errorf("%s: print page of card %s lacks %q:\n%.3000s", name, c.ID, w, page)
				}
			}
		}
	}
	if rows < 20 {
		t.Errorf("only %d checks made", rows)
	}
}

// The page names codes from the table: the lab report and its result, by
// the practitioner who performed them.
func TestPrintPageNamesALabReport(t *testing.T) {
	s := httpapitest.Start(t, httpapitest.Options{})
	out := issue(t, s, []byte(reportBundle))
	if len(out.Cards) != 1 {
		t.Fatalf("%d cards", len(out.Cards))
	}
	page := html.UnescapeString(string(do(t, s, "GET", strings.TrimPrefix(out.Cards[0].Links.Print, s.URL), "", "", nil).Body))
	for _, w := range []string{
		"<td>CBC panel - Bld (Auto) (LOINC 58410-2)</td>",
		"<td>Hgb Bld-mCnc (LOINC 718-7): 13.5 g/dL</td>",
		"<td>Greg House</td>",
		">2026-03-04<",
		"Ann Doe",
	} {
		if !strings.Contains(page, w) {
			t.Errorf("print page lacks %q:\n%.3000s", w, page)
		}
	}
}
