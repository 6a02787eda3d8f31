package compiler

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
)

// hasher writes a canonical, unambiguous encoding into SHA-256: every
// string is length-prefixed and every list and map is count-prefixed, so
// that no two different inputs share an encoding ("ab"+"c" vs "a"+"bc").
type hasher struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64]byte
}

func newHasher(domain string) *hasher {
	h := &hasher{h: sha256.New()}
	h.str(domain)
	return h
}

func (h *hasher) uint(n uint64) {
	k := binary.PutUvarint(h.buf[:], n)
	h.h.Write(h.buf[:k])
}

func (h *hasher) int(n int64) { h.uint(uint64(n)) }

func (h *hasher) str(s string) {
	h.uint(uint64(len(s)))
	h.h.Write([]byte(s))
}

func (h *hasher) strs(ss []string) {
	h.uint(uint64(len(ss)))
	for _, s := range ss {
		h.str(s)
	}
}

// strMap writes a map in key order.
func (h *hasher) strMap(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h.uint(uint64(len(keys)))
	for _, k := range keys {
		h.str(k)
		h.str(m[k])
	}
}

func (h *hasher) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }
