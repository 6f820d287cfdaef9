package web_test

import (
	"testing"

	"github.com/healthcards/healthcards/shc"
)

// chunkTexts splits jws into three legacy shc:/C/N/ chunks.
func chunkTexts(t *testing.T, jws string) []string {
	t.Helper()
	chunks, err := shc.EncodeQRChunks(jws, len(jws)/3+1)
	if err != nil || len(chunks) != 3 {
		t.Fatalf("chunks: %d, %v", len(chunks), err)
	}
	return chunks
}
