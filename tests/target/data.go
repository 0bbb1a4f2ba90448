package main

// A memory-mapped data file, the page-cache working set of services that
// serve from an mmap'd index or embedded database (bbolt, Badger, model
// files). Its pages are file-backed: the kernel charges them to the target's
// cgroup and, unlike the Go heap, may evict them when that cgroup nears its
// limit. /read touches random pages of it, so a request's latency shows
// whether its working set still fits in memory.

import (
	"fmt"
	"math/bits"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	pageBytes    = 4096
	maxDataMiB   = 4096    // cap for -data-mib
	maxReadPages = 1 << 16 // cap for /read?pages=
	defReadPages = 64
)

var (
	dataMap  []byte        // the mapping, nil without -data-mib
	readSeed atomic.Uint64 // advanced per /read; picks the pages
)

// openDataFile writes mibs MiB of pseudo-random bytes to a new file in dir,
// syncs it, unlinks it (the mapping keeps it alive; nothing is left on disk
// when the process ends), maps it read-only and touches every page once so
// that it starts fully cached. MADV_RANDOM turns off read-around: a page
// missing from the cache costs one read of that page, not of its neighbours.
func openDataFile(dir string, mibs int64) error {
	f, err := os.CreateTemp(dir, "demo-target-data-*.bin")
	if err != nil {
		return fmt.Errorf("creating the data file: %w", err)
	}
	name := f.Name()
	defer f.Close()
	defer os.Remove(name)

	buf := make([]byte, mib)
	x := uint64(0x9E3779B97F4A7C15)
	for i := int64(0); i < mibs; i++ {
		for j := 0; j+8 <= len(buf); j += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			for k := 0; k < 8; k++ {
				buf[j+k] = byte(x >> (8 * k))
			}
		}
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", name, err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(mibs*mib), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mapping %s: %w", name, err)
	}
	if err := syscall.Madvise(m, syscall.MADV_RANDOM); err != nil {
		return fmt.Errorf("madvise %s: %w", name, err)
	}
	var sum byte
	for off := 0; off < len(m); off += pageBytes {
		sum ^= m[off]
	}
	_ = sum
	dataMap = m
	return nil
}

// readPages reads one byte from each of n pseudo-random pages of the data
// file and returns their XOR.
//
//go:noinline
func readPages(n int64) byte {
	pages := uint64(len(dataMap) / pageBytes)
	x := readSeed.Add(0x9E3779B97F4A7C15) | 1
	var sum byte
	for i := int64(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		hi, _ := bits.Mul64(x, pages)
		sum ^= dataMap[hi*pageBytes+(x&(pageBytes-1))]
	}
	return sum
}

// majorFaults is the process's count of page faults that needed I/O.
func majorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Majflt
}

func handleRead(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if dataMap == nil {
		httpError(w, http.StatusNotFound, "no data file: start demo-target with -data-mib N")
		return
	}
	n, present, err := intParam(r.URL.Query(), "pages", 1, maxReadPages)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !present {
		n = defReadPages
	}
	start := time.Now()
	sum := readPages(n)
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"pages":        n,
		"xor":          sum,
		"elapsed_ms":   ms(time.Since(start)),
		"major_faults": majorFaults(),
	})
}
