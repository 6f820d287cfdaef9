// Package web holds the scanning page of the verifier service: static HTML,
// CSS and JavaScript embedded in the binary with //go:embed, so the page
// works offline and makes no third-party requests.
//
// The page scans SMART Health Card QR codes with the device camera (the
// browser's BarcodeDetector where present, otherwise the vendored jsQR
// library), accepts pasted shc:/ text or JWS, photos and .smart-health-card
// files, collects legacy chunks until a card is complete (QR-6) and shows
// the verdict of POST /v1/verify.
//
// # Verdicts and door mode (issue 11)
//
// The page shows the four verdicts of the API, each with one line telling
// staff what to do next (the service's advice, or the page's own when the
// service sent none): verified (green), invalid (red: the card itself is
// bad), issuer_not_trusted (amber) and unable_to_check (neutral grey, never
// red: the service could not be reached — the page knows when its own fetch
// fails —, the photo could not be read, the QR code is not a health card, a
// chunk is missing). Only a verified card shows its tests (result,
// collection date and its age) and vaccinations (doses and dates); an
// invalid card shows whose it is when its signature verified; nothing empty
// is shown. The verdict is the first thing on a phone screen.
//
// With the camera on, the page is in door mode: the camera stays on, the
// next card is read without a tap (the card already on screen is ignored),
// and each verdict clears itself after a set time (15 s by default) or when
// another card is read. Clearing removes the visitor's details from the page
// and drops the page's references to them (a browser test searches the
// JavaScript heap for the name). The time, a short sound and a vibration per
// verdict (both off by default) are set in "Door settings" or in the page's
// address (?clear=15&sound=1&vibrate=1), so a venue can bookmark them
// without the page storing anything.
//
// SMART Health Links (shlink:/…, scanned, pasted or uploaded) are sent to
// the same API. When the server answers passcode_required the page shows a
// labelled password field (focus moves to it, Enter submits, a polite live
// region reads the status) and sends the same input again with the
// passcode; a wrong one shows the attempts left. The cards inside get the
// usual verdict; the link's unsigned FHIR content is listed, by type and
// count only, in an amber "Not verified" box.
//
// # On this device, offline (issue 11)
//
// With "On this device" (or ?mode=device) cards are verified in the
// browser by cmd/shc-verifier-wasm, the project's verifier compiled to
// WebAssembly (static/wasm, built by go generate and checked against a
// fresh build by TestWasmUpToDate), against the trust snapshot of GET
// /v1/trust-snapshot, fetched again once half its revocation bound has
// passed. The card never leaves the device; the header and each verdict
// say where the card was checked. A service worker (/sw.js) keeps the page,
// the verifier and the last snapshot, so the page keeps working with the
// network cut; past the bound, cards whose key has a revocation list are
// unable_to_check (required policy). The page is an installable web app
// (static/manifest.json; icons drawn by internal/icongen).
//
// # Security considerations
//
// All script lives in files (no inline script or style attributes), so the
// page runs under the strict Content-Security-Policy set by package
// verifier/server (script-src 'self', plus 'wasm-unsafe-eval' for its own
// WebAssembly). Server data is inserted with textContent only, never as
// HTML. The page stores no card (no cookies, no local storage; the service
// worker caches only the page's own files and the public trust snapshot)
// and sends cards only to its own origin, or in on-device mode nowhere. A
// door verdict clears itself and the page drops its references to the
// card. A link passcode is
// read from its field, which is cleared at once, and sent in the request
// body only; the link input is held in memory only while the prompt is
// open.
//
// The vendored third-party file is static/vendor/jsQR.js: jsqr 1.4.0 from
// npm (Apache-2.0, licence in static/vendor/jsQR.LICENSE), the package's
// dist/jsQR.js unmodified. See static/vendor/README.md.
package web
