package letterpreview

import (
	"bytes"
	"compress/zlib"
	"hash/adler32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"testing"
)

// A page image survives the encoder exactly, as an 8-bit RGB PNG without alpha, whatever
// its pixels and size (one IDAT chunk or several).
func TestEncodePagePNG(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {3, 7}, {1240, 1754}, {600, 400}} {
		img := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
		r := rand.New(rand.NewPCG(uint64(size.X), uint64(size.Y)))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		// Noise on the top half of a white page: text-like pixels, enough to spread the
		// stream over several chunks; the bottom half's rows repeat, with one grey row
		// among them.
		for range size.X * size.Y / 20 {
			img.Set(r.IntN(size.X), r.IntN((size.Y+1)/2), color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
		for x := range size.X {
			img.Set(x, size.Y*3/4, color.RGBA{128, 128, 128, 255})
		}
		var out bytes.Buffer
		if err := encodePagePNG(&out, img); err != nil {
			t.Fatal(err)
		}
		config, err := png.DecodeConfig(bytes.NewReader(out.Bytes()))
		if err != nil || config.ColorModel != color.RGBAModel || config.Width != size.X || config.Height != size.Y {
			t.Fatalf("%v: config %+v, %v; want %dx%d 8-bit RGB", size, config, err, size.X, size.Y)
		}
		if out.Bytes()[25] != 2 {
			t.Errorf("%v: colour type %d, want 2 (RGB without alpha)", size, out.Bytes()[25])
		}
		decoded, err := png.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for y := range size.Y {
			for x := range size.X {
				if got, want := color.RGBAModel.Convert(decoded.At(x, y)), img.At(x, y); got != want {
					t.Fatalf("%v: pixel (%d, %d) is %v, want %v", size, x, y, got, want)
				}
			}
		}
	}
}

func TestEncodePagePNGRefusesAnEmptyImage(t *testing.T) {
	if err := encodePagePNG(&bytes.Buffer{}, image.NewRGBA(image.Rect(0, 0, 0, 5))); err == nil {
		t.Error("an empty image was encoded")
	}
}

func BenchmarkEncodePagePNG(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 1240, 1754))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 200; y < 1500; y += 3 {
		for x := 150; x < 1000; x += 2 {
			img.Set(x, y, color.RGBA{40, 40, 40, 255})
		}
	}
	b.Run("pages", func(b *testing.B) {
		for b.Loop() {
			if err := encodePagePNG(&bytes.Buffer{}, img); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image/png", func(b *testing.B) {
		for b.Loop() {
			if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&bytes.Buffer{}, img); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The bands' checksums combine into the checksum of the whole.
func TestCombineAdler32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lengths := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {65521, 3}, {100000, 200000}, {7, 65521 * 3}} {
		a, b := make([]byte, lengths[0]), make([]byte, lengths[1])
		for i := range a {
			a[i] = byte(r.IntN(256))
		}
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		want := adler32.Checksum(append(append([]byte{}, a...), b...))
		if got := combineAdler32(adler32.Checksum(a), adler32.Checksum(b), len(b)); got != want {
			t.Errorf("lengths %v: combined %08x, want %08x", lengths, got, want)
		}
	}
}

// The rows, deflated in bands, are one zlib stream whose checksum holds: reading it to its
// end gives every filtered row.
func TestCompressRowsIsOneStream(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 300, 1100))
	r := rand.New(rand.NewPCG(3, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	stream, err := compressRows(img)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zlib.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("read the stream to its end: %v", err)
	}
	if len(rows) != 1100*(1+3*300) {
		t.Errorf("%d bytes of rows, want %d", len(rows), 1100*(1+3*300))
	}
}
