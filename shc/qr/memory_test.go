package qr

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// phone12MP draws the QR code of c on a 4000×3000 (12-megapixel) colour
// canvas like a phone photo of a printed card (about 11 px per module,
// a grey cast, sensor noise) and encodes it as a baseline 4:2:0 JPEG.
// With damaged set, the lower right quarter of the symbol is noise: the
// finder patterns are there but no rung reads it (the whole ladder runs).
func phone12MP(t testing.TB, c *Code, damaged bool) []byte {
	const W, H = 4000, 3000
	img := image.NewYCbCr(image.Rect(0, 0, W, H), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(12, 4000))
	n := c.Size()
	const scale, x0, y0 = 11, 1300, 900
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			v := 200 - x/100 // paper under uneven light
			mx, my := (x-x0)/scale, (y-y0)/scale
			if x >= x0 && y >= y0 && mx < n+8 && my < n+8 {
				dark := c.Dark(mx-4, my-4)
				if damaged && mx > n/2+4 && my > n/2+4 && mx < n+4 && my < n+4 {
					dark = (mx*7+my*13)%5 < 2
				}
				if dark {
					v = 45
				}
			}
			v += rng.IntN(13) - 6
			img.Y[y*img.YStride+x] = uint8(min(255, max(0, v)))
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 124, 133 // a slight warm cast
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// peakHeapDuring runs f and reports the bytes it allocated (TotalAlloc)
// and the highest HeapInuse above the level before it, sampled every
// millisecond (a lower bound of the true peak; the GC runs as usual).
func peakHeapDuring(f func()) (total, peak uint64) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var hi atomic.Uint64
	hi.Store(before.HeapInuse)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > hi.Load() {
				hi.Store(m.HeapInuse)
			}
		}
	}()
	f()
	close(done)
	<-stopped
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, max(hi.Load(), after.HeapInuse) - before.HeapInuse
}

// A 12-megapixel phone JPEG decodes within issue 10's 64 MiB per request:
// DecodeCost says so from the header, the whole decode allocates no more
// than DecodeCost, and the heap in use never grows by more than 64 MiB.
func TestDecode12MPWithin64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("12-megapixel JPEG")
	}
	const limit = 64 << 20
	text := readText(t, vciEx+"example-00-f-qr-code-numeric-value-0.txt")
	c, err := Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, damaged := range []bool{false, true} {
		data := phone12MP(t, c, damaged)
		cost, err := DecodeCost(data)
		if err != nil {
			t.Fatal(err)
		}
		if cost > limit {
			t.Errorf("DecodeCost = %d MiB, over 64 MiB", cost>>20)
		}
		var got string
		total, peak := peakHeapDuring(func() { got, err = DecodeBytes(data) })
		if damaged {
			requireCode(t, err, CodeNoQRFound)
		} else if err != nil || got != text {
			t.Fatalf("DecodeBytes: %v", err)
		}
		t.Logf("12 MP baseline JPEG (%d KB, damaged %v): DecodeCost %.1f MiB, TotalAlloc %.1f MiB, peak HeapInuse +%.1f MiB",
			len(data)>>10, damaged, float64(cost)/(1<<20), float64(total)/(1<<20), float64(peak)/(1<<20))
		if int64(total) > cost {
			t.Errorf("decoding allocated %d bytes, DecodeCost said %d", total, cost)
		}
		if peak > limit {
			t.Errorf("heap in use grew by %d MiB, over 64 MiB", peak>>20)
		}
	}
}
