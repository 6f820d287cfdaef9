package shc

import (
	"errors"
	"strconv"
	"strings"

	"github.com/healthcards/healthcards/internal/jsonlite"
)

// Minify applies the QR minimization rules to a FHIR Bundle (MIN-1..8) and
// returns it without whitespace, keeping member order:
//   - Bundle.id and Bundle.meta are dropped;
//   - every entry's resource loses id (MIN-1), meta unless it holds only
//     meta.security (MIN-2), and narrative text (MIN-3);
//   - CodeableConcept.text (a "text" beside "coding", MIN-4) and
//     Coding.display (a "display" beside "system" and "code", MIN-5) go
//     everywhere; Reference.display stays;
//   - entry fullUrls become resource:0, resource:1, ... (MIN-6) and every
//     Reference.reference that names an entry is rewritten to match (MIN-7).
//
// The bundle is read with the strict reader (package internal/jsonlite),
// as verifiers read it: escaped, repeated or case-variant member names
// anywhere are refused with bad_bundle. Minify is for cards meant to
// become QR codes; cards for file or link delivery may keep the full
// bundle.
func Minify(bundle []byte) ([]byte, error) { return MinifyWithOptions(bundle, MinifyOptions{}) }

// MinifyOptions adjust Minify.
type MinifyOptions struct {
	// DropSecurityMeta removes meta even when it holds only meta.security.
	// MIN-2 allows such a meta to stay (Minify keeps it: an identity
	// assurance label such as IAL1.2 is useful to verifiers); the spec's
	// reference generator drops it (MIN-8), and this option reproduces the
	// generator's output byte for byte.
	DropSecurityMeta bool
}

// MinifyWithOptions is Minify with options.
func MinifyWithOptions(bundle []byte, opts MinifyOptions) ([]byte, error) {
	if len(bundle) > DefaultMaxPayloadBytes {
		return nil, errorf(CodePayloadTooLarge, "bundle of %d bytes exceeds the %d-byte limit", len(bundle), DefaultMaxPayloadBytes)
	}
	root, err := jsonlite.Parse(bundle, maxJSONDepth)
	if err != nil {
		var me *jsonlite.MemberError
		switch {
		case errors.As(err, &me):
			return nil, wrap(CodeBadBundle, "refused by the strict reader: "+me.Error(), nil)
		case errors.Is(err, jsonlite.ErrDepth):
			return nil, errorf(CodeBadBundle, "JSON nested deeper than %d levels", maxJSONDepth)
		}
		return nil, errorf(CodeBadBundle, "not valid JSON")
	}
	if rt, _ := root.Get("resourceType").Str(); rt != "Bundle" {
		return nil, errorf(CodeBadBundle, "resourceType is %q, want Bundle", rt)
	}
	root.Delete("id")
	root.Delete("meta")
	entries := root.Get("entry")
	if entries != nil && entries.Kind != '[' {
		return nil, errorf(CodeBadBundle, "Bundle.entry is not an array")
	}

	refs := map[string]string{} // old reference forms -> resource:N
	if entries != nil {
		for i, e := range entries.Elems {
			if e.Kind != '{' {
				return nil, errorf(CodeBadBundle, "Bundle.entry[%d] is not an object", i)
			}
			short := "resource:" + strconv.Itoa(i)
			if old, ok := e.Get("fullUrl").Str(); ok {
				refs[old] = short
				if tail := lastSegments(old, 2); tail != "" {
					refs[tail] = short
				}
			}
			res := e.Get("resource")
			if res != nil && res.Kind == '{' {
				rt, _ := res.Get("resourceType").Str()
				if id, ok := res.Get("id").Str(); ok && rt != "" {
					if _, taken := refs[rt+"/"+id]; !taken {
						refs[rt+"/"+id] = short
					}
				}
			}
			for _, n := range e.Names {
				if n != "fullUrl" && strings.EqualFold(n, "fullUrl") {
					// Adding fullUrl beside it would make a bundle the
					// strict reader refuses.
					return nil, errorf(CodeBadBundle, "Bundle.entry[%d] has %q, a variant spelling of fullUrl", i, n)
				}
			}
			// fullUrl first, as the examples have it.
			e.Delete("fullUrl")
			e.Set("fullUrl", jsonlite.StringOf(short), true)
		}
		for _, e := range entries.Elems {
			res := e.Get("resource")
			if res == nil || res.Kind != '{' {
				continue
			}
			res.Delete("id")
			securityOnly := func(m *jsonlite.Value) bool {
				return m.Kind == '{' && len(m.Names) == 1 && m.Names[0] == "security"
			}
			if m := res.Get("meta"); m != nil && (opts.DropSecurityMeta || !securityOnly(m)) {
				res.Delete("meta")
			}
			res.Delete("text")
			minifyElements(res, refs)
		}
	}
	return root.AppendCompact(make([]byte, 0, len(bundle))), nil
}

// minifyElements applies MIN-4, MIN-5 and MIN-7 to every element below n.
func minifyElements(n *jsonlite.Value, refs map[string]string) {
	switch n.Kind {
	case '{':
		if n.Get("coding") != nil {
			n.Delete("text") // CodeableConcept.text (MIN-4)
		}
		if n.Get("system") != nil && n.Get("code") != nil {
			n.Delete("display") // Coding.display (MIN-5)
		}
		if ref, ok := n.Get("reference").Str(); ok {
			if short, found := refs[ref]; found {
				n.Set("reference", jsonlite.StringOf(short), false) // MIN-7
			} else if short, found := refs[lastSegments(ref, 2)]; found {
				n.Set("reference", jsonlite.StringOf(short), false)
			}
		}
		for _, v := range n.Elems {
			minifyElements(v, refs)
		}
	case '[':
		for _, v := range n.Elems {
			minifyElements(v, refs)
		}
	}
}

// lastSegments returns the last k "/"-separated segments of s, or "" if s
// has fewer.
func lastSegments(s string, k int) string {
	s = strings.TrimRight(s, "/")
	i := len(s)
	for range k - 1 {
		if i = strings.LastIndexByte(s[:i], '/'); i < 0 {
			return ""
		}
	}
	return s[strings.LastIndexByte(s[:i], '/')+1:]
}
