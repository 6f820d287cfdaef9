package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/healthcards/healthcards/issuer/store"
)

// Source is where $health-cards-issue reads a patient's data: the
// service's own store (StoreSource) or an upstream FHIR server
// (FHIRSource).
type Source interface {
	// Patient returns the Patient resource, or an error matching
	// ErrNotFound.
	Patient(ctx context.Context, patientID string) (json.RawMessage, error)
	// Resources returns the patient's resources of the given types, at
	// most MaxSourceResources.
	Resources(ctx context.Context, patientID string, types []string) ([]store.Resource, error)
	// ResourceURL is the hosted URL of a resource (OP-11 hostedResource).
	ResourceURL(typ, id string) string
}

// MaxSourceResources caps the resources read for one patient.
const MaxSourceResources = 1000

// StoreSource reads from the issuer's store. BaseURL is the service's FHIR
// base (e.g. https://issuer.example/fhir), used for hostedResource links.
type StoreSource struct {
	Store   store.PatientStore
	BaseURL string
}

var _ Source = StoreSource{}

func (s StoreSource) Patient(ctx context.Context, id string) (json.RawMessage, error) {
	p, err := s.Store.Patient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeNotFound, "no Patient %q", id)
	}
	if err != nil {
		return nil, wrapErr(CodeInternal, "reading the store", err)
	}
	return p, nil
}

func (s StoreSource) Resources(ctx context.Context, id string, types []string) ([]store.Resource, error) {
	res, err := s.Store.Resources(ctx, id, types, time.Time{})
	if err != nil {
		return nil, wrapErr(CodeInternal, "reading the store", err)
	}
	if len(res) > MaxSourceResources {
		return nil, errf(CodeTooLarge, "patient has more than %d resources", MaxSourceResources)
	}
	return res, nil
}

func (s StoreSource) ResourceURL(typ, id string) string {
	return strings.TrimRight(s.BaseURL, "/") + "/" + typ + "/" + url.PathEscape(id)
}

// FHIRSource reads from an upstream FHIR R4 server by REST search:
// GET [base]/Patient/{id} and GET [base]/{Type}?patient={id}, following
// same-origin "next" links. Supporting resources (performers, specimens)
// are not fetched from upstream: those cards keep the reference's display
// text only. The base is configured by an administrator and
// trusted; requests are still bounded in time, size and pages.
type FHIRSource struct {
	// BaseURL of the upstream FHIR server, e.g. https://ehr.example/fhir.
	BaseURL string
	// Client is the HTTP client; nil means one with a 10 s timeout.
	Client *http.Client
	// Authorization, if set, is sent as the Authorization header.
	Authorization string
	// MaxBytes caps each response; 0 means 4 MiB.
	MaxBytes int64
	// MaxPages caps search pages per type; 0 means 10.
	MaxPages int
}

var _ Source = (*FHIRSource)(nil)

func (f *FHIRSource) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *FHIRSource) get(ctx context.Context, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, wrapErr(CodeUpstream, "bad upstream URL", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if f.Authorization != "" {
		req.Header.Set("Authorization", f.Authorization)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, 0, wrapErr(CodeUpstream, "upstream FHIR server unreachable", err)
	}
	defer resp.Body.Close()
	max := f.MaxBytes
	if max <= 0 {
		max = 4 << 20
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, resp.StatusCode, wrapErr(CodeUpstream, "reading the upstream response", err)
	}
	if int64(len(b)) > max {
		return nil, resp.StatusCode, errf(CodeUpstream, "upstream response exceeds %d bytes", max)
	}
	return b, resp.StatusCode, nil
}

func (f *FHIRSource) Patient(ctx context.Context, id string) (json.RawMessage, error) {
	b, code, err := f.get(ctx, f.ResourceURL(TypePatient, id))
	if err != nil {
		return nil, err
	}
	switch {
	case code == http.StatusNotFound || code == http.StatusGone:
		return nil, errf(CodeNotFound, "no Patient %q upstream", id)
	case code != http.StatusOK:
		return nil, errf(CodeUpstream, "upstream answered %d for Patient", code)
	}
	var p struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	if json.Unmarshal(b, &p) != nil || p.ResourceType != TypePatient {
		return nil, errf(CodeUpstream, "upstream Patient read did not return a Patient")
	}
	if p.ID != id {
		return nil, errf(CodeUpstream, "upstream returned a Patient with another id")
	}
	return b, nil
}

func (f *FHIRSource) Resources(ctx context.Context, id string, types []string) ([]store.Resource, error) {
	if len(types) == 0 {
		types = []string{TypeObservation, TypeImmunization, TypeDiagnosticReport}
	}
	base, err := url.Parse(strings.TrimRight(f.BaseURL, "/"))
	if err != nil {
		return nil, wrapErr(CodeUpstream, "bad upstream base URL", err)
	}
	maxPages := f.MaxPages
	if maxPages <= 0 {
		maxPages = 10
	}
	var out []store.Resource
	for _, typ := range types {
		if isSupporting(typ) {
			// Organization, Practitioner, ... are not searchable by patient;
			// cards from an upstream server carry no supporting resources.
			continue
		}
		next := base.String() + "/" + typ + "?patient=" + url.QueryEscape(id) + "&_count=100"
		for page := 0; next != "" && page < maxPages; page++ {
			b, code, err := f.get(ctx, next)
			if err != nil {
				return nil, err
			}
			if code != http.StatusOK {
				return nil, errf(CodeUpstream, "upstream answered %d for %s search", code, typ)
			}
			var sb struct {
				ResourceType string `json:"resourceType"`
				Link         []struct {
					Relation string `json:"relation"`
					URL      string `json:"url"`
				} `json:"link"`
				Entry []struct {
					Resource json.RawMessage `json:"resource"`
					Search   *struct {
						Mode string `json:"mode"`
					} `json:"search"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(b, &sb); err != nil || sb.ResourceType != "Bundle" {
				return nil, errf(CodeUpstream, "upstream %s search did not return a Bundle", typ)
			}
			for _, e := range sb.Entry {
				if e.Search != nil && e.Search.Mode != "" && e.Search.Mode != "match" {
					continue
				}
				r, err := parseResource(e.Resource)
				if err != nil || r.Type != typ || !ValidID(r.ID) {
					continue
				}
				if !strings.HasSuffix(r.Subject, TypePatient+"/"+id) {
					continue // not about this patient: never put it on their card
				}
				out = append(out, store.Resource{PatientID: id, Type: typ, ID: r.ID, Date: r.Date, JSON: e.Resource})
				if len(out) > MaxSourceResources {
					return nil, errf(CodeTooLarge, "patient has more than %d resources upstream", MaxSourceResources)
				}
			}
			next = ""
			for _, l := range sb.Link {
				if l.Relation == "next" {
					if nu, err := url.Parse(l.URL); err == nil && nu.Scheme == base.Scheme && nu.Host == base.Host {
						next = nu.String()
					}
				}
			}
		}
	}
	return out, nil
}

func (f *FHIRSource) ResourceURL(typ, id string) string {
	return fmt.Sprintf("%s/%s/%s", strings.TrimRight(f.BaseURL, "/"), typ, url.PathEscape(id))
}
