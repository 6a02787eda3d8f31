package compiler

import (
	"slices"
	"sync"
)

// cached is what the fast path keeps of an independent file, by the
// hash of its bytes: its analysis and its pieces. A file that is
// independent means the same whatever the files around it, so a second
// compile of it (`phoenix diff` compiles two revisions that share most
// files; a long-running process compiles the same spec again) skips
// parsing and evaluating it.
type cached struct {
	info   fileInfo // without the file and the syntax of its claims
	pieces []piece
}

// fileCache holds cached files up to cacheLimit bytes of JSON; when full
// it starts over, which is simple and bounds memory.
var fileCache = struct {
	sync.Mutex
	m    map[[32]byte]*cached
	size int
}{m: map[[32]byte]*cached{}}

const cacheLimit = 64 << 20

func cacheGet(key [32]byte) *cached {
	fileCache.Lock()
	defer fileCache.Unlock()
	return fileCache.m[key]
}

func cachePut(key [32]byte, c *cached) {
	n := 0
	for _, p := range c.pieces {
		n += len(p.json) + len(p.top) + len(p.entry)
	}
	fileCache.Lock()
	defer fileCache.Unlock()
	if fileCache.size+n > cacheLimit {
		clear(fileCache.m)
		fileCache.size = 0
	}
	fileCache.m[key] = c
	fileCache.size += n
}

// cacheFile keeps a file's analysis (without its syntax) and pieces.
func cacheFile(key [32]byte, in *fileInfo, pieces []piece) {
	info := *in
	info.file = nil
	info.claims = slices.Clone(info.claims)
	for j := range info.claims {
		info.claims[j].value = nil
	}
	cachePut(key, &cached{info: info, pieces: pieces})
}
