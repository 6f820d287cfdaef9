package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/healthcards/healthcards/verifier"
	"github.com/healthcards/healthcards/verifier/server"
)

// A verifier service over a verifier trusting one issuer's static key set;
// input that holds no card gets a problem document with a stable code.
func ExampleNew() {
	v, err := verifier.New(verifier.WithStaticKeys("https://issuer.example", []byte(`{"keys":[]}`)), verifier.WithOffline())
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := server.New(server.Config{Verifier: v})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/verify", strings.NewReader(`{"input":"not a card"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)

	var p server.Problem
	json.Unmarshal(rec.Body.Bytes(), &p)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(p.Code, "-", p.Title)
	// Output:
	// 422 application/problem+json
	// malformed_input - This is not a SMART Health Card.
}
