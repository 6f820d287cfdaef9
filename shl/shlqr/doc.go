// Package shlqr renders a SMART Health Link as a QR code PNG at error
// correction level M (SHL-21). It is a separate package so that programs
// that only parse or resolve links do not link the QR image code.
//
// # Security considerations
//
// A shlink QR code carries the link's decryption key: anyone who can scan
// it can read the shared files (unless the link also needs a passcode).
// Only valid links are rendered ([shl.Parse] must accept the text), and the
// image size is bounded.
package shlqr
