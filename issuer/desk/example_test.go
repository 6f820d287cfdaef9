package desk_test

import (
	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/desk"
	"github.com/healthcards/healthcards/issuer/httpapi"
	"github.com/healthcards/healthcards/issuer/identity"
)

// Mount the front desk beside the SMART Health Links on the issuer's echo
// server (issuer/service does this).
func ExampleNew() {
	var (
		is    *issuer.Issuer    // the issuing library
		ids   *identity.Service // identity.Open(ctx, identity.Config{Path: "data/identity.db", RPID: "lab.example.org", Origin: "https://lab.example.org"})
		links *httpapi.Links    // httpapi.NewLinks(...)
	)
	d, err := desk.New(desk.Config{Issuer: is, Identity: ids, Links: links, BaseURL: "https://lab.example.org", LabName: "Example Lab"})
	if err != nil {
		return // Issuer and Identity are required
	}
	_ = httpapi.Config{Mount: func(e *echo.Echo) { links.Mount(e); d.Mount(e) }}
}
