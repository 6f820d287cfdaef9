//go:build js && wasm

// Command shc-verifier-wasm is the project's card verifier compiled to
// WebAssembly for the scanning page's on-device mode (issue 11): cards are
// verified in the browser against a trust snapshot published by the
// verifier service (GET /v1/trust-snapshot), so a card never leaves the
// device. It reads text only (shc:/ text, a JWS, a .smart-health-card file):
// no image decoding, no HTTP, no SMART Health Links (they need a server).
//
// It sets globalThis.shcVerifier to an object with two functions:
//
//	load(snapshotJSON) → {ok, error, time, revocationMaxAgeSeconds, required, issuers}
//	verify(input, nowMillis) → JSON text in the shape of POST /v1/verify's answer,
//	                           or of its problem+json answer when no card was found
//
// The rules live in package verify (build-tag free, so the parity test runs
// them natively as well); this file only wires them to JavaScript.
package main

import (
	"syscall/js"

	"github.com/healthcards/healthcards/cmd/shc-verifier-wasm/verify"
)

func main() {
	var dev *verify.Device
	load := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 1 || args[0].Type() != js.TypeString {
			return map[string]any{"ok": false, "error": "load needs the snapshot as a string"}
		}
		d, err := verify.NewDevice([]byte(args[0].String()))
		if err != nil {
			return map[string]any{"ok": false, "error": err.Error()}
		}
		dev = d
		i := d.Info()
		return map[string]any{"ok": true, "time": i.Time.UnixMilli(), "revocationMaxAgeSeconds": int(i.RevocationMaxAge.Seconds()),
			"required": i.Required, "issuers": i.Issuers}
	})
	check := js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) < 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeNumber {
			return string(verify.Problem("bad_request", "verify needs the input and the time"))
		}
		if dev == nil {
			return string(verify.Problem("not_ready", "No trust snapshot is loaded yet."))
		}
		return string(dev.Verify([]byte(args[0].String()), int64(args[1].Float())))
	})
	js.Global().Set("shcVerifier", map[string]any{"load": load, "verify": check})
	select {} // keep the functions alive
}
