package verifier

import "encoding/json"

// The encoding/json oracle of the summary decoder (decodeBundleFast, the
// only decoder in production): FuzzSummaryDifferential checks that
// whatever the decoder reads, encoding/json reads the same.

type fhirBundle struct {
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// decodeBundleReference decodes with encoding/json, the test oracle.
func decodeBundleReference(bundle []byte) (*decodedBundle, error) {
	var b fhirBundle
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, err
	}
	entries := b.Entry
	if len(entries) > maxSummaryEntries {
		entries = entries[:maxSummaryEntries]
	}
	d := &decodedBundle{fullURLs: make([]string, len(entries)), res: make([]fhirResource, len(entries)), orgs: map[string]string{}}
	for i, e := range entries {
		d.fullURLs[i] = e.FullURL
		// A type error (Organization.name is a string, not a HumanName
		// list) leaves the other members decoded.
		_ = json.Unmarshal(e.Resource, &d.res[i])
		var o struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(e.Resource, &o) // "" unless name is a string
		d.res[i].orgName = o.Name
		if d.res[i].ResourceType == "Organization" {
			d.orgs[e.FullURL] = o.Name
		}
	}
	return d, nil
}
