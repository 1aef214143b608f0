package domain

import (
	"encoding/binary"
	"math/bits"
)

// Word-at-a-time byte tests ("SIMD within a register") for the codec's hot
// loops: they look at 8 bytes per step for a byte that needs attention, and
// the byte-by-byte loops that follow them stay the only ones that decide what
// such a byte means. Each test may flag bytes above the first real match (a
// borrow carries upwards) but never misses one and never flags one below it,
// so the lowest flagged byte is the first real match.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// below flags the bytes of v that are less than n (n <= 0x80).
func below(v uint64, n byte) uint64 { return (v - ones*uint64(n)) &^ v & highs }

// equal flags the bytes of v that are c.
func equal(v uint64, c byte) uint64 { return below(v^(ones*uint64(c)), 1) }

// plainRun returns the length of the longest prefix of b, rounded down to
// whole words, made of bytes that are printable ASCII and neither '"' nor
// '\\': the bytes a JSON string holds as they are, and which the fast
// decoder can take without looking at each one.
func plainRun(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		if m := below(v, 0x20) | v&highs | equal(v, '"') | equal(v, '\\'); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	return i
}

// safeRun is plainRun for the encoder, which also escapes '<', '>' and '&'
// (as encoding/json does) and looks at every non-ASCII byte.
func safeRun(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if m := below(v, 0x20) | v&highs | equal(v, '"') | equal(v, '\\') | equal(v, '<') | equal(v, '>') | equal(v, '&'); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	return i
}
