package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Roaring's portable format, as far as checkPortable needs it
// (https://github.com/RoaringBitmap/RoaringFormatSpec).
const (
	cookieNoRuns = 12346 // followed by a uint32 container count
	cookieRuns   = 12347 // low 16 bits; high 16 bits: container count - 1
	noOffsetMin  = 4     // with runs, offsets only from this many containers
	arrayMax     = 4096  // non-run containers above this cardinality are bitmaps
)

var errPortable = errors.New("roaring")

// checkPortable checks, in one linear pass, that buf is exactly one valid
// 32-bit roaring bitmap in portable format: container keys strictly
// ascending; array values strictly ascending; run containers' runs sorted,
// within the container, not overlapping and not touching; every container's
// cardinality as declared; and nothing after the last container. It is a
// linear replacement for roaring's Validate, whose run check is quadratic
// in the runs of a container (a crafted file could stall ReadFrom for
// hours), and it runs before roaring parses the bytes.
func checkPortable(buf []byte) error {
	p := buf
	take := func(n int) ([]byte, error) {
		if n > len(p) {
			return nil, fmt.Errorf("%w: truncated", errPortable)
		}
		v := p[:n]
		p = p[n:]
		return v, nil
	}
	head, err := take(4)
	if err != nil {
		return err
	}
	cookie := binary.LittleEndian.Uint32(head)
	var size int
	var runFlags []byte
	hasOffsets := true
	switch {
	case cookie == cookieNoRuns:
		b, err := take(4)
		if err != nil {
			return err
		}
		if n := binary.LittleEndian.Uint32(b); n > 1<<16 {
			return fmt.Errorf("%w: %d containers", errPortable, n)
		} else {
			size = int(n)
		}
	case cookie&0xFFFF == cookieRuns:
		size = int(cookie>>16) + 1
		if runFlags, err = take((size + 7) / 8); err != nil {
			return err
		}
		hasOffsets = size >= noOffsetMin
	default:
		return fmt.Errorf("%w: bad cookie %#x", errPortable, cookie)
	}
	keycard, err := take(4 * size)
	if err != nil {
		return err
	}
	if hasOffsets {
		if _, err := take(4 * size); err != nil {
			return err
		}
	}
	for i := 0; i < size; i++ {
		key := binary.LittleEndian.Uint16(keycard[4*i:])
		card := int(binary.LittleEndian.Uint16(keycard[4*i+2:])) + 1
		if i > 0 && key <= binary.LittleEndian.Uint16(keycard[4*(i-1):]) {
			return fmt.Errorf("%w: container keys not ascending", errPortable)
		}
		switch {
		case runFlags != nil && runFlags[i/8]&(1<<(i%8)) != 0:
			b, err := take(2)
			if err != nil {
				return err
			}
			runs, err := take(4 * int(binary.LittleEndian.Uint16(b)))
			if err != nil {
				return err
			}
			total, next := 0, 0 // next: the smallest start the next run may have
			for j := 0; j < len(runs); j += 4 {
				start := int(binary.LittleEndian.Uint16(runs[j:]))
				length := int(binary.LittleEndian.Uint16(runs[j+2:])) + 1
				if start < next || start+length > 1<<16 {
					return fmt.Errorf("%w: runs overlap, touch, are unsorted or overflow", errPortable)
				}
				next = start + length + 1
				total += length
			}
			if total != card || len(runs) == 0 {
				return fmt.Errorf("%w: run container holds %d values, header says %d", errPortable, total, card)
			}
		case card > arrayMax:
			words, err := take(8192)
			if err != nil {
				return err
			}
			total := 0
			for j := 0; j < len(words); j += 8 {
				total += bits.OnesCount64(binary.LittleEndian.Uint64(words[j:]))
			}
			if total != card {
				return fmt.Errorf("%w: bitmap container holds %d values, header says %d", errPortable, total, card)
			}
		default:
			vals, err := take(2 * card)
			if err != nil {
				return err
			}
			for j := 2; j < len(vals); j += 2 {
				if binary.LittleEndian.Uint16(vals[j:]) <= binary.LittleEndian.Uint16(vals[j-2:]) {
					return fmt.Errorf("%w: array container not ascending", errPortable)
				}
			}
		}
	}
	if len(p) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errPortable, len(p))
	}
	return nil
}
