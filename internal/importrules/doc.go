// Package importrules holds only tests: they fail when a package reaches an
// import it must not (go list -deps -json), when an exported declaration
// names a type of an internal package (go doc -all), and when the separate
// module examples/embedder, which builds every exported configuration from
// public packages only, stops building offline. The rules are the
// boundaries the package docs describe:
//
//   - verifier (the library) reaches no HTTP framework, database driver,
//     issuer package, QR image code (shc/qr, gozxing, skip2, x/image, x/text
//     encodings), SMART Health Link host or argon2;
//   - shc, keys, did and safehttp reach no HTTP framework; shl (the link
//     format and client) reaches neither the host nor argon2;
//   - no package under verifier/ imports issuer/.
package importrules
