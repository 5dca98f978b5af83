package letterpreview

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"hash/crc32"
	"image"
	"io"
	"runtime"
	"sync"
)

// encodePagePNG writes an opaque page image as an 8-bit RGB PNG without alpha (RENDERING.md
// §5.7). image/png writes the same format, but chooses each row's filter by trying all
// five, which for a 1240 × 1754 page costs more than rendering it; a letter page is mostly
// runs of white under runs of white, which the Up filter alone compresses about as well.
func encodePagePNG(w io.Writer, img *image.RGBA) error {
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	if width <= 0 || height <= 0 {
		return errors.New("encode page: empty image")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("\x89PNG\r\n\x1a\n"); err != nil {
		return err
	}
	var header [13]byte
	binary.BigEndian.PutUint32(header[0:], uint32(width))
	binary.BigEndian.PutUint32(header[4:], uint32(height))
	header[8], header[9] = 8, 2 // 8 bits per channel, truecolour
	if err := writeChunk(bw, "IHDR", header[:]); err != nil {
		return err
	}
	stream, err := compressRows(img)
	if err != nil {
		return err
	}
	// The stream is whole in memory: it goes out in IDAT chunks of at most 64 KiB.
	for len(stream) > 0 {
		n := min(len(stream), 64<<10)
		if err := writeChunk(bw, "IDAT", stream[:n]); err != nil {
			return err
		}
		stream = stream[n:]
	}
	if err := writeChunk(bw, "IEND", nil); err != nil {
		return err
	}
	return bw.Flush()
}

// writeChunk writes one PNG chunk: length, type, data and the CRC of type and data.
func writeChunk(w io.Writer, kind string, data []byte) error {
	var length [4]byte
	binary.BigEndian.PutUint32(length[:], uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(kind))
	crc.Write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	for _, part := range [][]byte{length[:], []byte(kind), data, sum[:]} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// compressRows is the zlib stream of the image's filtered rows. The rows are cut into one
// band per CPU (at most four), each deflated on its own; a band ends with a sync flush, so
// the bands' streams join into one, and their Adler-32 checksums combine into the
// stream's, so the file is the one a single pass would make but for where blocks end.
func compressRows(img *image.RGBA) ([]byte, error) {
	b := img.Bounds()
	bands := min(runtime.GOMAXPROCS(0), 4, max(1, b.Dy()/256))
	type band struct {
		deflated bytes.Buffer
		checksum uint32
		length   int
		err      error
	}
	out := make([]band, bands)
	var wg sync.WaitGroup
	for i := range bands {
		y0 := b.Min.Y + b.Dy()*i/bands
		y1 := b.Min.Y + b.Dy()*(i+1)/bands
		wg.Go(func() {
			o := &out[i]
			fw, err := flate.NewWriter(&o.deflated, flate.BestSpeed)
			if err != nil {
				o.err = err
				return
			}
			sum := adler32.New()
			o.err = filterRows(img, y0, y1, func(row []byte) error {
				sum.Write(row)
				o.length += len(row)
				_, err := fw.Write(row)
				return err
			})
			if o.err != nil {
				return
			}
			if i == bands-1 {
				o.err = fw.Close()
			} else {
				o.err = fw.Flush()
			}
			o.checksum = sum.Sum32()
		})
	}
	wg.Wait()
	// The zlib header of a stream deflated at the fastest level, as compress/zlib writes it.
	stream := []byte{0x78, 0x01}
	checksum := uint32(1)
	for i := range out {
		if out[i].err != nil {
			return nil, out[i].err
		}
		stream = append(stream, out[i].deflated.Bytes()...)
		checksum = combineAdler32(checksum, out[i].checksum, out[i].length)
	}
	return binary.BigEndian.AppendUint32(stream, checksum), nil
}

// filterRows gives each row y0 ≤ y < y1 of img, Up-filtered against the row above it
// (none above the first), to write, as PNG filter byte and RGB samples.
func filterRows(img *image.RGBA, y0, y1 int, write func([]byte) error) error {
	b := img.Bounds()
	width := b.Dx()
	const up = 2
	row := make([]byte, 1+3*width)
	previous := make([]byte, 3*width)
	current := make([]byte, 3*width)
	// A row the same as the one above filters to zeros: most rows of a letter are blank or
	// repeat, and need neither converting nor subtracting.
	repeated := make([]byte, 1+3*width)
	repeated[0] = up
	var above []byte
	if y0 > b.Min.Y {
		above = img.Pix[img.PixOffset(b.Min.X, y0-1):][:4*width]
		for x := range width {
			copy(previous[3*x:3*x+3], above[4*x:4*x+3])
		}
	}
	for y := y0; y < y1; y++ {
		pixels := img.Pix[img.PixOffset(b.Min.X, y):][:4*width]
		if above != nil && bytes.Equal(pixels, above) {
			if err := write(repeated); err != nil {
				return err
			}
			continue
		}
		above = pixels
		filtered := row[1:]
		for x := range width {
			p, c, f, q := pixels[4*x:4*x+3:4*x+3], current[3*x:3*x+3:3*x+3], filtered[3*x:3*x+3:3*x+3], previous[3*x:3*x+3:3*x+3]
			c[0], c[1], c[2] = p[0], p[1], p[2]
			f[0], f[1], f[2] = p[0]-q[0], p[1]-q[1], p[2]-q[2]
		}
		row[0] = up
		if err := write(row); err != nil {
			return err
		}
		previous, current = current, previous
	}
	return nil
}

// combineAdler32 is the Adler-32 checksum of A followed by B, from A's checksum, B's and
// B's length (as zlib's adler32_combine).
func combineAdler32(a, b uint32, lengthB int) uint32 {
	const base = 65521
	rem := uint32(lengthB % base)
	sum1 := a & 0xffff
	sum2 := (rem * sum1) % base
	sum1 += (b & 0xffff) + base - 1
	sum2 += (a >> 16) + (b >> 16) + base - rem
	if sum1 >= base {
		sum1 -= base
	}
	if sum1 >= base {
		sum1 -= base
	}
	if sum2 >= 2*base {
		sum2 -= 2 * base
	}
	if sum2 >= base {
		sum2 -= base
	}
	return sum1 | sum2<<16
}
