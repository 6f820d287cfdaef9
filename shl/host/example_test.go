package host_test

import (
	"context"
	"fmt"

	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/host"
)

// A lab shares a FHIR bundle as a long-term link protected by a passcode.
func ExampleHost_CreateLink() {
	h, err := host.New(host.Config{BaseURL: "https://issuer.example.org/shl", Store: host.NewMemoryStore()})
	if err != nil {
		fmt.Println(err)
		return
	}
	link, err := h.CreateLink(context.Background(),
		[]host.FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{"resourceType":"Bundle"}`), FHIRVersion: "4.0.1"}},
		host.LinkOptions{Passcode: "1234", LongTerm: true, Label: "Lab results"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(link.Payload.Flag, link.Payload.Label)
	// Output: LP Lab results
}
