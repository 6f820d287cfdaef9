package shc

import (
	"bytes"
	"encoding/json"
)

// node is an order-preserving JSON value. Scalars keep their exact source
// bytes, so re-encoding a value changes nothing but insignificant whitespace
// (the minified payload must match the spec's byte for byte).
type node struct {
	kind byte // '{' object, '[' array, 0 scalar
	raw  []byte
	keys []string // decoded member names, objects only
	vals []*node  // members or elements
}

// parseOrdered parses valid JSON into a node tree, bounded in depth.
func parseOrdered(b []byte) (*node, error) {
	if !json.Valid(b) {
		return nil, errorf(CodeBadBundle, "not valid JSON")
	}
	p := &orderedParser{b: b}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	return n, nil
}

type orderedParser struct {
	b   []byte
	pos int
}

func (p *orderedParser) ws() {
	for p.pos < len(p.b) {
		switch p.b[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *orderedParser) value(depth int) (*node, error) {
	if depth > maxJSONDepth {
		return nil, errorf(CodeBadBundle, "JSON nested deeper than %d levels", maxJSONDepth)
	}
	p.ws()
	switch p.b[p.pos] {
	case '{':
		p.pos++
		n := &node{kind: '{'}
		for {
			p.ws()
			if p.b[p.pos] == '}' {
				p.pos++
				return n, nil
			}
			if p.b[p.pos] == ',' {
				p.pos++
				p.ws()
			}
			keyRaw := p.str()
			var key string
			if err := json.Unmarshal(keyRaw, &key); err != nil {
				return nil, errorf(CodeBadBundle, "bad member name")
			}
			p.ws()
			p.pos++ // ':'
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, v)
		}
	case '[':
		p.pos++
		n := &node{kind: '['}
		for {
			p.ws()
			if p.b[p.pos] == ']' {
				p.pos++
				return n, nil
			}
			if p.b[p.pos] == ',' {
				p.pos++
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
	case '"':
		return &node{raw: p.str()}, nil
	default:
		start := p.pos
		for p.pos < len(p.b) {
			switch p.b[p.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return &node{raw: p.b[start:p.pos]}, nil
			}
			p.pos++
		}
		return &node{raw: p.b[start:p.pos]}, nil
	}
}

// str consumes a JSON string and returns its raw bytes, quotes included.
func (p *orderedParser) str() []byte {
	start := p.pos
	p.pos++ // opening quote
	for p.b[p.pos] != '"' {
		if p.b[p.pos] == '\\' {
			p.pos++
		}
		p.pos++
	}
	p.pos++
	return p.b[start:p.pos]
}

// get returns the member named key, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// has reports whether an object has member key.
func (n *node) has(key string) bool { return n.get(key) != nil }

// del removes member key from an object.
func (n *node) del(key string) {
	for i, k := range n.keys {
		if k == key {
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.vals = append(n.vals[:i], n.vals[i+1:]...)
			return
		}
	}
}

// set replaces the value of member key (which must exist) or appends it.
func (n *node) set(key string, v *node) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys = append(n.keys, key)
	n.vals = append(n.vals, v)
}

// stringValue returns the decoded string of a scalar string node.
func (n *node) stringValue() (string, bool) {
	if n == nil || n.kind != 0 || len(n.raw) == 0 || n.raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(n.raw, &s) != nil {
		return "", false
	}
	return s, true
}

func stringNode(s string) *node {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return &node{raw: bytes.TrimRight(buf.Bytes(), "\n")}
}

// encode writes n without insignificant whitespace.
func (n *node) encode(buf *bytes.Buffer) {
	switch n.kind {
	case '{':
		buf.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(stringNode(k).raw)
			buf.WriteByte(':')
			n.vals[i].encode(buf)
		}
		buf.WriteByte('}')
	case '[':
		buf.WriteByte('[')
		for i, v := range n.vals {
			if i > 0 {
				buf.WriteByte(',')
			}
			v.encode(buf)
		}
		buf.WriteByte(']')
	default:
		buf.Write(n.raw)
	}
}
