package shc

import (
	"encoding/json"
	"fmt"
	"strings"
)

// BundleProblems lists what makes a minified bundle a poor card, without
// rejecting it (MIN-9: verifiers warn, they do not fail): no Patient entry,
// entries whose fullUrl is not resource:N (MIN-6), and references that name
// no entry of the bundle (MIN-7). Issuers should fix these before signing.
func BundleProblems(bundle []byte) ([]string, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, wrap(CodeBadBundle, "bundle is not a JSON object", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, errorf(CodeBadBundle, "resourceType is %q, want Bundle", b.ResourceType)
	}
	var problems []string
	urls := map[string]bool{}
	patients := 0
	for i, e := range b.Entry {
		urls[e.FullURL] = true
		if e.FullURL != fmt.Sprintf("resource:%d", i) {
			problems = append(problems, fmt.Sprintf("entry %d has fullUrl %q, not resource:%d (MIN-6)", i, e.FullURL, i))
		}
		var rt struct {
			ResourceType string `json:"resourceType"`
		}
		_ = json.Unmarshal(e.Resource, &rt)
		if rt.ResourceType == "Patient" {
			patients++
		}
	}
	if patients == 0 {
		problems = append(problems, "the bundle has no Patient: a card must say whose it is")
	}
	var walk func(v any)
	seen := map[string]bool{}
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["reference"].(string); ok && !urls[ref] && !strings.HasPrefix(ref, "#") && !seen[ref] {
				seen[ref] = true
				problems = append(problems, fmt.Sprintf("reference %q names no entry of the bundle (MIN-7)", ref))
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	for _, e := range b.Entry {
		var r any
		if json.Unmarshal(e.Resource, &r) == nil {
			walk(r)
		}
	}
	return problems, nil
}
