package shc

import (
	"bytes"
	"strconv"
	"strings"
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
// Minify is for cards meant to become QR codes; cards for file or link
// delivery may keep the full bundle.
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
	root, err := parseOrdered(bundle)
	if err != nil {
		return nil, err
	}
	if rt, _ := root.get("resourceType").stringValue(); rt != "Bundle" {
		return nil, errorf(CodeBadBundle, "resourceType is %q, want Bundle", rt)
	}
	root.del("id")
	root.del("meta")
	entries := root.get("entry")
	if entries != nil && entries.kind != '[' {
		return nil, errorf(CodeBadBundle, "Bundle.entry is not an array")
	}

	refs := map[string]string{} // old reference forms -> resource:N
	if entries != nil {
		for i, e := range entries.vals {
			if e.kind != '{' {
				return nil, errorf(CodeBadBundle, "Bundle.entry[%d] is not an object", i)
			}
			short := "resource:" + strconv.Itoa(i)
			if old, ok := e.get("fullUrl").stringValue(); ok {
				refs[old] = short
				if tail := lastSegments(old, 2); tail != "" {
					refs[tail] = short
				}
			}
			res := e.get("resource")
			if res != nil && res.kind == '{' {
				rt, _ := res.get("resourceType").stringValue()
				if id, ok := res.get("id").stringValue(); ok && rt != "" {
					if _, taken := refs[rt+"/"+id]; !taken {
						refs[rt+"/"+id] = short
					}
				}
			}
			e.set("fullUrl", stringNode(short))
		}
		// Put fullUrl first, as the examples do, when it had to be added.
		for _, e := range entries.vals {
			if e.keys[0] != "fullUrl" {
				v := e.get("fullUrl")
				e.del("fullUrl")
				e.keys = append([]string{"fullUrl"}, e.keys...)
				e.vals = append([]*node{v}, e.vals...)
			}
		}
		for _, e := range entries.vals {
			res := e.get("resource")
			if res == nil || res.kind != '{' {
				continue
			}
			res.del("id")
			securityOnly := func(m *node) bool { return m.kind == '{' && len(m.keys) == 1 && m.keys[0] == "security" }
			if m := res.get("meta"); m != nil && (opts.DropSecurityMeta || !securityOnly(m)) {
				res.del("meta")
			}
			res.del("text")
			minifyElements(res, refs)
		}
	}
	var buf bytes.Buffer
	buf.Grow(len(bundle))
	root.encode(&buf)
	return buf.Bytes(), nil
}

// minifyElements applies MIN-4, MIN-5 and MIN-7 to every element below n.
func minifyElements(n *node, refs map[string]string) {
	switch n.kind {
	case '{':
		if n.has("coding") {
			n.del("text") // CodeableConcept.text (MIN-4)
		}
		if n.has("system") && n.has("code") {
			n.del("display") // Coding.display (MIN-5)
		}
		if ref, ok := n.get("reference").stringValue(); ok {
			if short, found := refs[ref]; found {
				n.set("reference", stringNode(short)) // MIN-7
			} else if short, found := refs[lastSegments(ref, 2)]; found {
				n.set("reference", stringNode(short))
			}
		}
		for _, v := range n.vals {
			minifyElements(v, refs)
		}
	case '[':
		for _, v := range n.vals {
			minifyElements(v, refs)
		}
	}
}

// lastSegments returns the last k "/"-separated segments of s, or "" if s
// has fewer.
func lastSegments(s string, k int) string {
	parts := strings.Split(strings.TrimRight(s, "/"), "/")
	if len(parts) < k {
		return ""
	}
	return strings.Join(parts[len(parts)-k:], "/")
}
