package issuer

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/healthcards/healthcards/issuer/store"
)

// PutResults validates a lab's FHIR R4 bundle (see IssueBundle) and stores
// its Patient and resources for later issuance ($health-cards-issue).
// Resources without an id get a random one, and every reference to a
// bundle entry is rewritten to its Type/id form so that stored resources
// stay linked without their bundle. It returns the patient id and the
// number of resources stored.
func (is *Issuer) PutResults(ctx context.Context, bundle []byte, actor string) (string, int, error) {
	pb, err := parseBundle(bundle, is.cfg.MaxBundleBytes)
	if err != nil {
		return "", 0, err
	}
	// Assign ids, then build the rewrite map old reference -> Type/id.
	// Supporting resources (performers, specimens, ...) are stored with the
	// patient's data so that $health-cards-issue can put them on cards.
	all := append([]*resource{{Type: TypePatient, ID: pb.Patient.ID, FullURL: pb.Patient.FullURL}}, pb.Resources...)
	all = append(all, pb.Supporting...)
	ix := refIndex{}
	for i, r := range all {
		if r.ID == "" {
			r.ID = newID()
		}
		ix.add(i, r.FullURL, r.Type, r.ID)
	}
	res := make([]store.Resource, 0, len(all)-1)
	for _, r := range all[1:] {
		raw, err := canonicalRefs(r, all, ix)
		if err != nil {
			return "", 0, err
		}
		res = append(res, store.Resource{PatientID: pb.Patient.ID, Type: r.Type, ID: r.ID, Date: r.Date, JSON: raw})
	}
	if err := is.cfg.Store.PutResources(ctx, pb.Patient.ID, pb.Patient.JSON, res); err != nil {
		return "", 0, wrapErr(CodeInternal, "storing results", err)
	}
	_ = is.cfg.Store.Audit(ctx, store.Event{Time: is.now(), Actor: actor, Action: "results.write", Detail: strconv.Itoa(len(res)) + " resources"})
	return pb.Patient.ID, len(res), nil
}

// canonicalRefs returns r's JSON with its id set and every reference that
// names a bundle entry written as Type/id. JSON is re-encoded only when
// something changes.
func canonicalRefs(r *resource, all []*resource, ix refIndex) (json.RawMessage, error) {
	change := false
	for _, ref := range r.Refs {
		if j, ok := ix.lookup(ref); ok && ref != all[j].Type+"/"+all[j].ID {
			change = true
		}
	}
	var m map[string]any
	if err := json.Unmarshal(r.JSON, &m); err != nil {
		return nil, errf(CodeInvalidBundle, "resource is not a JSON object")
	}
	if id, _ := m["id"].(string); id != r.ID {
		m["id"] = r.ID
		change = true
	}
	if !change {
		return r.JSON, nil
	}
	rewriteRefs(m, all, ix, 0)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, wrapErr(CodeInternal, "re-encoding a resource", err)
	}
	return b, nil
}

func rewriteRefs(v any, all []*resource, ix refIndex, depth int) {
	if depth > maxJSONDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" {
				if j, ok := ix.lookup(s); ok {
					x[k] = all[j].Type + "/" + all[j].ID
				}
				continue
			}
			rewriteRefs(c, all, ix, depth+1)
		}
	case []any:
		for _, c := range x {
			rewriteRefs(c, all, ix, depth+1)
		}
	}
}
