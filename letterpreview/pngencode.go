package letterpreview

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"io"
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
	idat := &chunkWriter{w: bw, kind: "IDAT"}
	z, err := zlib.NewWriterLevel(idat, zlib.BestSpeed)
	if err != nil {
		return err
	}
	const up = 2
	row := make([]byte, 1+3*width)
	previous := make([]byte, 3*width)
	current := make([]byte, 3*width)
	// A row the same as the one above filters to zeros: most rows of a letter are blank or
	// repeat, and need neither converting nor subtracting.
	repeated := make([]byte, 1+3*width)
	repeated[0] = up
	var above []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		pixels := img.Pix[img.PixOffset(b.Min.X, y):][:4*width]
		if above != nil && bytes.Equal(pixels, above) {
			if _, err := z.Write(repeated); err != nil {
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
		if _, err := z.Write(row); err != nil {
			return err
		}
		previous, current = current, previous
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := idat.flush(); err != nil {
		return err
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

// chunkWriter gathers the zlib stream into IDAT chunks of up to 64 KiB.
type chunkWriter struct {
	w    io.Writer
	kind string
	buf  []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := 64<<10 - len(c.buf)
		take := min(room, len(p))
		c.buf = append(c.buf, p[:take]...)
		p = p[take:]
		if len(c.buf) == 64<<10 {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := writeChunk(c.w, c.kind, c.buf)
	c.buf = c.buf[:0]
	return err
}
