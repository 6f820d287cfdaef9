package shc

import (
	"strings"
	"sync"
)

// headerCacheSize bounds the protected headers remembered. Every card of
// one issuer key carries the same header, so a verifier sees few distinct
// ones; junk headers only displace each other.
const headerCacheSize = 256

// headerCache remembers successfully parsed protected headers by their
// base64url text. Parsing is a pure function of that text, so a hit gives
// exactly what parsing again would; failures are never stored. It is safe
// for concurrent use.
type headerCache struct {
	mu sync.RWMutex
	m  map[string]Header
}

var headers = &headerCache{m: make(map[string]Header, headerCacheSize)}

// parse decodes and checks the base64url header h64 (HDR-1..4, HDR-8).
func (c *headerCache) parse(h64 string) (Header, error) {
	c.mu.RLock()
	h, ok := c.m[h64]
	c.mu.RUnlock()
	if ok {
		return h, nil
	}
	hb, err := b64.DecodeString(h64)
	if err != nil {
		return Header{}, wrap(CodeMalformedJWS, "header is not base64url", err)
	}
	h, err = parseHeader(hb)
	if err != nil {
		return Header{}, err
	}
	c.mu.Lock()
	if len(c.m) >= headerCacheSize {
		for k := range c.m { // evict one arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[strings.Clone(h64)] = h // do not pin the whole JWS
	c.mu.Unlock()
	return h, nil
}
