package shl_test

import (
	"bytes"
	"fmt"

	"github.com/healthcards/healthcards/shl"
)

// A payload becomes a shlink URI (optionally behind a viewer) and parses
// back to the same payload. A fixed key keeps the output stable; real links
// use the random key NewPayload makes.
func ExampleParse() {
	p, err := shl.NewPayload("https://shl.example.org/m/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM",
		shl.WithKey(bytes.Repeat([]byte{7}, 32)),
		shl.WithFlags("PL"),
		shl.WithLabel("Immunizations"))
	if err != nil {
		panic(err)
	}
	uri := p.URI("https://viewer.example.org#")
	fmt.Println(uri[:len("https://viewer.example.org#shlink:/")])

	q, err := shl.Parse(uri)
	if err != nil {
		panic(err)
	}
	fmt.Println(q.Flag, q.Label, q.Key == p.Key, q.URL == p.URL)
	fmt.Println(string(q.JSON()))
	// Output:
	// https://viewer.example.org#shlink:/
	// LP Immunizations true true
	// {"url":"https://shl.example.org/m/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM","flag":"LP","key":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc","label":"Immunizations"}
}

// Encrypt a file for a link and decrypt it again.
func ExampleDecrypt() {
	key := bytes.Repeat([]byte{1}, 32)
	jwe, err := shl.Encrypt(key, shl.ContentTypeFHIR, []byte(`{"resourceType":"Bundle"}`), true)
	if err != nil {
		panic(err)
	}
	cty, plaintext, err := shl.Decrypt(key, jwe)
	fmt.Println(cty, string(plaintext), err)
	// Output: application/fhir+json {"resourceType":"Bundle"} <nil>
}
