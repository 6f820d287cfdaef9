package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/healthcards/healthcards/shl"
	"github.com/healthcards/healthcards/shl/host"
	"github.com/healthcards/healthcards/shl/sqlstore"
)

// An issuer keeps its links in SQLite next to its other data.
func ExampleOpenSQLite() {
	dir, _ := os.MkdirTemp("", "links")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "links.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	h, _ := host.New(host.Config{BaseURL: "https://issuer.example.org/shl", Store: st})
	link, _ := h.CreateLink(ctx, []host.FileContent{{ContentType: shl.ContentTypeFHIR, Data: []byte(`{"resourceType":"Bundle"}`)}},
		host.LinkOptions{Label: "Lab results", Owner: "patient:123"})
	info, _ := h.Info(ctx, link.ID)
	fmt.Println(info.Owner, info.Files, info.Payload.Label, len(info.Payload.URL) <= shl.MaxURLLen)
	// Output: patient:123 1 Lab results true
}
