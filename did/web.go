package did

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

const (
	webPrefix = "did:web:"
	// maxWebDIDLen bounds did:web input.
	maxWebDIDLen = 1024
	maxSegments  = 16
)

// webParts is a parsed did:web: host, optional port, optional path segments.
type webParts struct {
	host string
	port string
	path []string
}

// parseWeb parses a did:web strictly:
//   - "did:web:" then colon-separated segments, none empty;
//   - the first segment is a DNS name (labels of letters, digits and
//     hyphens) optionally followed by "%3A" and a port 1..65535; IP
//     literals are refused (the method names a domain);
//   - path segments use only letters, digits, ".", "-", "_", and are never
//     "." or ".." (no traversal, no percent-encoding);
//   - no fragment, query, path or parameters (a DID, not a DID URL).
func parseWeb(did string) (webParts, error) {
	bad := func(msg string) (webParts, error) {
		return webParts{}, newErr(CodeMalformedDID, msg, nil)
	}
	if len(did) > maxWebDIDLen {
		return bad(fmt.Sprintf("did:web is over %d characters", maxWebDIDLen))
	}
	id, ok := strings.CutPrefix(did, webPrefix)
	if !ok {
		return bad(fmt.Sprintf("%q is not a did:web", did))
	}
	segs := strings.Split(id, ":")
	if len(segs) > maxSegments+1 {
		return bad("did:web has too many path segments")
	}
	hostport := segs[0]
	var p webParts
	if i := strings.Index(hostport, "%"); i >= 0 {
		if !strings.EqualFold(hostport[i:min(i+3, len(hostport))], "%3A") {
			return bad("did:web host may only percent-encode the port separator %3A")
		}
		p.host, p.port = hostport[:i], hostport[i+3:]
		n, err := strconv.Atoi(p.port)
		if err != nil || n < 1 || n > 65535 || p.port[0] == '0' || strings.ContainsAny(p.port, "+-") {
			return bad(fmt.Sprintf("did:web port %q is not a number in 1..65535", p.port))
		}
	} else {
		p.host = hostport
	}
	if err := checkHost(p.host); err != nil {
		return webParts{}, err
	}
	for _, s := range segs[1:] {
		if s == "" {
			return bad("did:web has an empty path segment")
		}
		if s == "." || s == ".." {
			return bad("did:web path segment may not be \".\" or \"..\"")
		}
		for i := 0; i < len(s); i++ {
			if !isAlnum(s[i]) && s[i] != '.' && s[i] != '-' && s[i] != '_' {
				return bad(fmt.Sprintf("did:web path segment %q has a character outside [A-Za-z0-9._-]", s))
			}
		}
	}
	p.path = segs[1:]
	return p, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkHost accepts a DNS name: labels of 1..63 letters, digits and
// hyphens, not starting or ending with a hyphen, at most 253 characters in
// all, and a last label that is not all digits (which rules out IPv4
// literals and their numeric variants).
func checkHost(h string) error {
	bad := func(msg string) error { return newErr(CodeMalformedDID, msg, nil) }
	if h == "" {
		return bad("did:web has an empty host")
	}
	if len(h) > 253 {
		return bad("did:web host is over 253 characters")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return bad("did:web host is an IP address; a domain name is required")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return bad(fmt.Sprintf("did:web host %q has an invalid label", h))
		}
		for i := 0; i < len(l); i++ {
			if !isAlnum(l[i]) && l[i] != '-' {
				return bad(fmt.Sprintf("did:web host %q has a character outside [A-Za-z0-9-]", h))
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return bad(fmt.Sprintf("did:web host %q looks like an IP address; a domain name is required", h))
	}
	return nil
}

// base returns "https://host[:port][/seg/...]".
func (p webParts) base() string {
	var b strings.Builder
	b.WriteString("https://")
	b.WriteString(strings.ToLower(p.host))
	if p.port != "" {
		b.WriteString(":")
		b.WriteString(p.port)
	}
	for _, s := range p.path {
		b.WriteString("/")
		b.WriteString(s)
	}
	return b.String()
}

// WebURL returns the https URL of a did:web document:
//
//	did:web:example.com                 → https://example.com/.well-known/did.json
//	did:web:example.com%3A8443          → https://example.com:8443/.well-known/did.json
//	did:web:example.com:user:alice      → https://example.com/user/alice/did.json
//
// Malformed DIDs are ErrMalformedDID (see the package doc for the rules).
func WebURL(did string) (string, error) {
	p, err := parseWeb(did)
	if err != nil {
		return "", err
	}
	if len(p.path) == 0 {
		return p.base() + "/.well-known/did.json", nil
	}
	return p.base() + "/did.json", nil
}

// WebBase returns the https base of a did:web (scheme, host, port and path,
// without "did.json" and without a trailing slash). For a did:web issuer the
// revocation list of key kid lives at WebBase(did) + "/.well-known/crl/" +
// kid + ".json", as for an https iss (REV-*).
func WebBase(did string) (string, error) {
	p, err := parseWeb(did)
	if err != nil {
		return "", err
	}
	return p.base(), nil
}
