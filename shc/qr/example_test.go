package qr_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/healthcards/healthcards/shc"
	"github.com/healthcards/healthcards/shc/qr"
)

// An 804-character JWS, the length of the spec's example 00, fits a
// version 18 QR at error-correction level L, as in the official example.
func ExampleEncode() {
	jws := strings.Repeat("eyJ6aXAiOiJERUYi", 50) + "." + strings.Repeat("A", 3) // 804 characters
	text, err := shc.EncodeQRText(jws)
	if err != nil {
		fmt.Println(err)
		return
	}
	code, err := qr.Encode(text)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(jws), code.Version(), code.Level(), code.Size())

	var png bytes.Buffer
	if err := code.PNG(&png, 4); err != nil {
		fmt.Println(err)
		return
	}
	back, err := qr.DecodeBytes(png.Bytes())
	fmt.Println(back == text, err)
	// Output:
	// 804 18 L 89
	// true <nil>
}

// A JWS one character over the level's limit is refused with a stable code.
func ExampleEncode_tooLarge() {
	text, _ := shc.EncodeQRText(strings.Repeat("a", 928))
	_, err := qr.Encode(text, qr.WithLevel(qr.M))
	fmt.Println(shc.CodeOf(err))
	fmt.Println(qr.MaxJWSLen(qr.M, len("shc:/")))
	// Output:
	// qr_too_large
	// 927
}
