package web

import (
	"embed"
	"io/fs"
)

//go:generate go run ./internal/wasmgen
//go:generate go run ./internal/icongen

//go:embed static
var static embed.FS

// Files returns the page's files: index.html, app.js, style.css and
// vendor/. Paths are relative (index.html, vendor/jsQR.js).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: embedded static folder missing: " + err.Error()) // cannot happen: checked at build time by go:embed
	}
	return sub
}
