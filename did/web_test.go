package did

import "testing"

func TestWebURL(t *testing.T) {
	tests := []struct{ did, url, base string }{
		{"did:web:example.com", "https://example.com/.well-known/did.json", "https://example.com"},
		{"did:web:example.com%3A8443", "https://example.com:8443/.well-known/did.json", "https://example.com:8443"},
		{"did:web:example.com%3a8443", "https://example.com:8443/.well-known/did.json", "https://example.com:8443"},
		{"did:web:example.com:user:alice", "https://example.com/user/alice/did.json", "https://example.com/user/alice"},
		{"did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json", "https://w3c-ccg.github.io/user/alice"},
		{"did:web:Example.COM", "https://example.com/.well-known/did.json", "https://example.com"},
		{"did:web:localhost%3A1234:a.b_c-d", "https://localhost:1234/a.b_c-d/did.json", "https://localhost:1234/a.b_c-d"},
		{"did:web:xn--bcher-kva.example", "https://xn--bcher-kva.example/.well-known/did.json", "https://xn--bcher-kva.example"},
	}
	for _, tc := range tests {
		t.Run(tc.did, func(t *testing.T) {
			u, err := WebURL(tc.did)
			if err != nil || u != tc.url {
				t.Fatalf("WebURL = %q, %v; want %q", u, err, tc.url)
			}
			b, err := WebBase(tc.did)
			if err != nil || b != tc.base {
				t.Fatalf("WebBase = %q, %v; want %q", b, err, tc.base)
			}
		})
	}
}

func TestWebURL_Rejects(t *testing.T) {
	long := "did:web:"
	for len(long) < 1100 {
		long += "a.example."
	}
	for _, d := range []string{
		"did:web:",
		"did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
		"did:webs:example.com",
		"https://example.com",
		"did:web:example.com:",
		"did:web:example.com::alice",
		"did:web::alice",
		"did:web:example.com:..",
		"did:web:example.com:.:x",
		"did:web:example.com:user:..:admin",
		"did:web:example.com:%2e%2e",
		"did:web:example.com:a%2Fb",
		"did:web:example.com:a/b",
		"did:web:example.com/path",
		"did:web:example.com#key-1",
		"did:web:example.com?service=x",
		"did:web:example.com;param",
		"did:web:user@example.com",
		"did:web:example.com%3A",
		"did:web:example.com%3A0",
		"did:web:example.com%3A65536",
		"did:web:example.com%3A08443",
		"did:web:example.com%3A+443",
		"did:web:example.com%3A443%3A1",
		"did:web:example.com%2F",
		"did:web:example.com%",
		"did:web:127.0.0.1",
		"did:web:127.0.0.1%3A8443",
		"did:web:2130706433",
		"did:web:0177.0.0.1",
		"did:web:[::1]",
		"did:web:%5B%3A%3A1%5D",
		"did:web:-example.com",
		"did:web:example-.com",
		"did:web:example..com",
		"did:web:.example.com",
		"did:web:example.com.",
		"did:web:exa_mple.com",
		"did:web:exämple.com",
		"did:web:example.com:caf\u00e9",
		"did:web:example.com:a b",
		"did:web:example.com:a\x00",
		long,
	} {
		t.Run(d, func(t *testing.T) {
			u, err := WebURL(d)
			if u != "" {
				t.Fatalf("WebURL returned %q with error", u)
			}
			wantCode(t, err, ErrMalformedDID)
			_, err = WebBase(d)
			wantCode(t, err, ErrMalformedDID)
		})
	}
}
