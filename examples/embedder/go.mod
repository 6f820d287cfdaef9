// A separate module: it sees only what an outside program sees (no
// internal/ packages). The replace directive builds it against this
// checkout.
module example.com/embedder

go 1.26.0

require github.com/healthcards/healthcards v0.0.0-00010101000000-000000000000

require (
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/labstack/echo/v5 v5.4.4 // indirect
	github.com/makiuchi-d/gozxing v0.1.1 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	golang.org/x/xerrors v0.0.0-20200804184101-5ec99f83aff1 // indirect
)

replace github.com/healthcards/healthcards => ../..
