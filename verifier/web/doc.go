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
// SMART Health Links (shlink:/…, scanned, pasted or uploaded) are sent to
// the same API. When the server answers passcode_required the page shows a
// labelled password field (focus moves to it, Enter submits, a polite live
// region reads the status) and sends the same input again with the
// passcode; a wrong one shows the attempts left. The cards inside get the
// usual verdict; the link's unsigned FHIR content is listed, by type and
// count only, in an amber "Not verified" box.
//
// # Security considerations
//
// All script lives in files (no inline script or style attributes), so the
// page runs under the strict Content-Security-Policy set by package
// verifier/server (script-src 'self'). Server data is inserted with
// textContent only, never as HTML. The page stores nothing (no cookies, no
// local storage) and sends cards only to its own origin. A link passcode is
// read from its field, which is cleared at once, and sent in the request
// body only; the link input is held in memory only while the prompt is
// open.
//
// The vendored third-party file is static/vendor/jsQR.js: jsqr 1.4.0 from
// npm (Apache-2.0, licence in static/vendor/jsQR.LICENSE), the package's
// dist/jsQR.js unmodified. See static/vendor/README.md.
package web
