package issuer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFHIRSource reads a patient from an upstream FHIR server by REST
// search (Patient read, Type?patient= with paging) and issues from it.
func TestFHIRSource(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json")
		switch {
		case r.URL.Path == "/fhir/Patient/p1":
			w.Write([]byte(`{"resourceType":"Patient","id":"p1","name":[{"family":"Up"}],"birthDate":"1990-01-01"}`))
		case r.URL.Path == "/fhir/Immunization" && r.URL.Query().Get("patient") == "p1" && r.URL.Query().Get("page") == "":
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"` + srv.URL + `/fhir/Immunization?patient=p1&page=2"}],
			"entry":[{"resource":{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"207"}]},"patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2021-01-01"},"search":{"mode":"match"}},
			{"resource":{"resourceType":"Immunization","id":"x","patient":{"reference":"Patient/someone-else"}}}]}`))
		case r.URL.Path == "/fhir/Immunization" && r.URL.Query().Get("page") == "2":
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Immunization","id":"i2","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"207"}]},"patient":{"reference":"Patient/p1"},"occurrenceDateTime":"2021-02-01"}}]}`))
		case strings.HasPrefix(r.URL.Path, "/fhir/Patient/"):
			http.NotFound(w, r)
		default:
			w.Write([]byte(`{"resourceType":"Bundle","type":"searchset"}`))
		}
	}))
	defer srv.Close()
	src := &FHIRSource{BaseURL: srv.URL + "/fhir"}
	f := newFixture(t)
	out, cards, err := f.is.HealthCardsIssue(context.Background(), src, "p1", IssueParams{CredentialTypes: []string{"Immunization"}}, OperationOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cards) != 1 || len(cards[0].Resources) != 2 {
		t.Fatalf("cards %+v", cards)
	}
	links := 0
	for _, p := range out.Parameter {
		if p.Name == "resourceLink" && strings.HasPrefix(*p.Part[2].ValueURI, srv.URL+"/fhir/Immunization/i") {
			links++
		}
	}
	if links != 2 {
		t.Fatalf("hosted links: %d", links)
	}
	if _, _, err := f.is.HealthCardsIssue(context.Background(), src, "nobody", IssueParams{CredentialTypes: []string{"Immunization"}}, OperationOptions{}); CodeOf(err) != CodeNotFound {
		t.Fatalf("unknown upstream patient: %v", err)
	}
	small := &FHIRSource{BaseURL: srv.URL + "/fhir", MaxBytes: 10}
	if _, err := small.Patient(context.Background(), "p1"); CodeOf(err) != CodeUpstream {
		t.Fatalf("oversized upstream reply: %v", err)
	}
}
