// Command heapgen writes Go heap profiles of known shape for memstrain's
// pprof tests and benchmarks.
//
//	heapgen -shape small|large|huge -out FILE.pb.gz [-debug1 FILE.txt] [-depth N]
//
// MemProfileRate is set to 1 before anything else, so every allocation is
// sampled and the profile's inuse_objects/inuse_space are exact (no
// statistical scaling). The shapes:
//
//	small  a handful of named functions with known counts and sizes
//	       (main.allocA 1000 x 64 B, main.allocB 500 x 4096 B,
//	       main.allocC under main.allocCOuter 250 x 256 B, main.allocD 4 x 1 MiB,
//	       and main.allocTemp 2000 x 128 B of garbage that is freed)
//	large  2^17 = 131072 leaf allocations of 48 B, each with a distinct stack
//	huge   2^19 = 524288 of them (benchmark input)
//
// The profile (gzip-compressed protobuf, as pprof.WriteHeapProfile writes it)
// goes to -out, written to a temporary file and renamed into place; -debug1
// also writes the legacy text form (debug=1) with its "# runtime.MemStats"
// block. A JSON summary with the expected numbers and timings is printed on
// stdout.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

const (
	defaultLargeDepth = 17
	defaultHugeDepth  = 19
	maxDepth          = 21 // + ~5 runtime/main frames stays under the 32-frame profile limit
)

type summary struct {
	Shape          string   `json:"shape"`
	Out            string   `json:"out"`
	OutBytes       int64    `json:"out_bytes"`
	Debug1         string   `json:"debug1,omitempty"`
	Debug1Bytes    int64    `json:"debug1_bytes,omitempty"`
	Depth          int      `json:"depth,omitempty"`
	MemProfileRate int      `json:"memprofilerate"`
	Expect         []expect `json:"expect"`
	// Lower bounds for the whole profile (the runtime adds a little of its own).
	LiveObjects int64   `json:"live_objects"`
	LiveBytes   int64   `json:"live_bytes"`
	Records     int     `json:"records"` // runtime.MemProfile records (= samples in the profile)
	AllocMs     float64 `json:"alloc_ms"`
	GCMs        float64 `json:"gc_ms"`
	WriteMs     float64 `json:"write_ms"`
	Debug1Ms    float64 `json:"debug1_ms,omitempty"`
	TotalMs     float64 `json:"total_ms"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
	GoVersion   string  `json:"go_version"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func die(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "heapgen: "+format+"\n", args...)
	os.Exit(code)
}

// writeAtomically writes via a temporary file in the same directory and
// renames it to path, so readers never see a half-written profile.
func writeAtomically(path string, write func(io.Writer) error) (int64, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp*")
	if err != nil {
		return 0, err
	}
	tmpName := tmp.Name()
	fail := func(err error) (int64, error) {
		tmp.Close()
		os.Remove(tmpName)
		return 0, err
	}
	if err := write(tmp); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	st, err := tmp.Stat()
	if err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmpName)
		return 0, err
	}
	if err := os.Chmod(tmpName, 0o644); err != nil {
		os.Remove(tmpName)
		return 0, err
	}
	if err := os.Rename(tmpName, path); err != nil {
		os.Remove(tmpName)
		return 0, err
	}
	return st.Size(), nil
}

func main() {
	// First statement: sample every allocation from here on.
	runtime.MemProfileRate = 1
	t0 := time.Now()

	shape := flag.String("shape", "", "small | large | huge")
	out := flag.String("out", "", "heap profile to write (gzip-compressed protobuf)")
	debug1 := flag.String("debug1", "", "also write the debug=1 text profile here")
	depth := flag.Int("depth", 0, fmt.Sprintf("tree depth for large/huge (default %d/%d, max %d)", defaultLargeDepth, defaultHugeDepth, maxDepth))
	flag.Parse()

	if flag.NArg() > 0 {
		die(2, "unexpected arguments: %q", flag.Args())
	}
	if *out == "" {
		die(2, "-out FILE.pb.gz is required")
	}
	switch *shape {
	case "small":
		if *depth != 0 {
			die(2, "-depth applies only to -shape large|huge")
		}
	case "large":
		if *depth == 0 {
			*depth = defaultLargeDepth
		}
	case "huge":
		if *depth == 0 {
			*depth = defaultHugeDepth
		}
	default:
		die(2, "-shape must be small, large or huge (got %q)", *shape)
	}
	if *shape != "small" && (*depth < 1 || *depth > maxDepth) {
		die(2, "-depth %d out of range [1, %d]", *depth, maxDepth)
	}

	s := summary{Shape: *shape, Out: *out, Debug1: *debug1, MemProfileRate: runtime.MemProfileRate, GoVersion: runtime.Version()}
	tAlloc := time.Now()
	if *shape == "small" {
		s.Expect = runSmall()
	} else {
		s.Depth = *depth
		s.Expect = runTree(*depth)
	}
	s.AllocMs = ms(time.Since(tAlloc))
	for _, e := range s.Expect {
		if e.Live {
			s.LiveObjects += e.Objects
			s.LiveBytes += e.Bytes
		}
	}

	// The heap profile reports the heap as of the last completed GC.
	tGC := time.Now()
	runtime.GC()
	s.GCMs = ms(time.Since(tGC))
	s.Records, _ = runtime.MemProfile(nil, true)

	tWrite := time.Now()
	n, err := writeAtomically(*out, pprof.WriteHeapProfile)
	if err != nil {
		die(1, "writing %s: %v", *out, err)
	}
	s.WriteMs = ms(time.Since(tWrite))
	s.OutBytes = n

	if *debug1 != "" {
		tDebug := time.Now()
		n, err := writeAtomically(*debug1, func(w io.Writer) error {
			return pprof.Lookup("heap").WriteTo(w, 1)
		})
		if err != nil {
			die(1, "writing %s: %v", *debug1, err)
		}
		s.Debug1Ms = ms(time.Since(tDebug))
		s.Debug1Bytes = n
	}

	// Everything allocated above must still be live while the profile is
	// written; the package-level roots guarantee it, this makes it explicit.
	runtime.KeepAlive(keepA)
	runtime.KeepAlive(keepB)
	runtime.KeepAlive(keepC)
	runtime.KeepAlive(keepD)
	runtime.KeepAlive(leaves)

	s.TotalMs = ms(time.Since(t0))
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.MaxRSSBytes = ru.Maxrss * 1024 // kilobytes on Linux
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&s); err != nil {
		die(1, "writing summary: %v", err)
	}
}
