// Command demo-target is a small HTTP service that memstrain's integration
// tests and `make demo` put under memory pressure. It retains and releases
// memory on request, exposes net/http/pprof on the default mux and reports
// runtime.MemStats plus /proc figures as JSON, and churns a live set at a
// given allocation rate (/churn) so that GOGC and GOMEMLIMIT matter.
//
// Only the Go standard library is used (Go 1.19).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/* on http.DefaultServeMux
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	mib = 1 << 20

	maxGrowMiB      = 16384       // cap for /grow?mib= and for any single /grow in bytes
	maxGrowObjects  = 100_000_000 // cap for /grow?objects= (and objects derived from mib)
	maxObjectBytes  = 1 << 30     // cap for object_bytes
	defObjectBytes  = 1024        // default object_bytes
	maxWorkKiB      = 1 << 20     // cap for -work-kib and /work?kib=
	maxSleepMs      = 60_000      // cap for /work?sleep_ms=
	maxLeakPerCall  = 1_000_000   // cap for /leak-goroutines?n=
	shutdownTimeout = 1500 * time.Millisecond
)

// leakGen is one generation of leaked goroutines; /drop closes ch and waits
// for wg (bounded) so that goroutine counts are settled when it answers.
type leakGen struct {
	ch chan struct{}
	wg sync.WaitGroup
	n  int64 // goroutines started in this generation (guarded by mu)
}

var (
	mu       sync.Mutex
	batches  [][][]byte // one element per /grow call
	baseline [][][]byte // -baseline-mib, kept across /drop unless ?all=1
	leaks    = &leakGen{ch: make(chan struct{})}

	retainedBytes   atomic.Int64
	retainedObjects atomic.Int64
	baselineBytes   atomic.Int64
	baselineObjects atomic.Int64
	leakedCount     atomic.Int64

	defaultWorkKiB int64 = 64
	startTime            = time.Now()
)

// retainObjects allocates count objects of size bytes each and writes into
// every 512-byte stride of each object (plus its last byte) so that the
// backing pages are really touched. It must stay a separate, non-inlined
// function so heap-profile diffs attribute /grow memory to
// main.retainObjects.
//
//go:noinline
func retainObjects(count int64, size int) [][]byte {
	objs := make([][]byte, count)
	for i := range objs {
		b := make([]byte, size)
		for j := 0; j < size; j += 512 {
			b[j] = byte(i+j) | 1
		}
		b[size-1] = 0xA5
		objs[i] = b
	}
	return objs
}

// retainBaseline allocates the -baseline-mib working set (1 KiB objects)
// through retainObjects, so its stack is
// main.retainObjects <- main.retainBaseline <- main.main.
//
//go:noinline
func retainBaseline(mibs int64) {
	count := mibs * mib / defObjectBytes
	objs := retainObjects(count, defObjectBytes)
	mu.Lock()
	baseline = append(baseline, objs)
	baselineBytes.Add(count * defObjectBytes)
	baselineObjects.Add(count)
	mu.Unlock()
}

// workObj is exactly 64 bytes (a size class), the unit of /work garbage.
type workObj struct {
	id   uint64
	a, b uint64
	pad  [5]uint64
}

// doWork allocates kib KiB as short-lived 64-byte objects and hashes them. At most workWindow of
// them are reachable at any moment (each is hashed and dropped when the window moves on), so the
// request churns kib/64 objects while its live working set stays at 4 KiB: a GC that runs during
// a request, as the live-heap readings force one, does not count the churn as live.
//
//go:noinline
func doWork(kib int64) (int, [32]byte) {
	const workWindow = 64
	n := int(kib * 1024 / 64)
	var ring [workWindow]*workObj
	h := sha256.New()
	var buf [16]byte
	hash := func(o *workObj) {
		binary.LittleEndian.PutUint64(buf[0:8], o.a)
		binary.LittleEndian.PutUint64(buf[8:16], o.b)
		h.Write(buf[:])
	}
	for i := 0; i < n; i++ {
		if old := ring[i%workWindow]; old != nil {
			hash(old)
		}
		o := &workObj{id: uint64(i)}
		o.a = o.id*0x9E3779B97F4A7C15 + 1
		o.b = o.a ^ (o.a >> 29)
		ring[i%workWindow] = o
	}
	for i := 0; i < workWindow && i < n; i++ {
		hash(ring[(n+i)%workWindow])
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return n, sum
}

// leakedGoroutine blocks until /drop closes its generation's channel.
//
//go:noinline
func leakedGoroutine(g *leakGen) {
	defer g.wg.Done()
	<-g.ch
	leakedCount.Add(-1)
}

// ---- HTTP helpers ----------------------------------------------------------

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, format string, args ...interface{}) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// allow answers 405 (with an Allow header) unless r.Method is listed.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	httpError(w, http.StatusMethodNotAllowed, "method %s not allowed; use %s", r.Method, strings.Join(methods, " or "))
	return false
}

// intParam parses query parameter name as a base-10 integer in [lo, hi].
// present is false (and err nil) when the parameter is absent.
func intParam(q url.Values, name string, lo, hi int64) (v int64, present bool, err error) {
	vals, ok := q[name]
	if !ok {
		return 0, false, nil
	}
	if len(vals) != 1 {
		return 0, true, fmt.Errorf("parameter %q given %d times", name, len(vals))
	}
	s := strings.TrimSpace(vals[0])
	v, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil {
		return 0, true, fmt.Errorf("parameter %q: %q is not an integer", name, vals[0])
	}
	if v < lo || v > hi {
		return 0, true, fmt.Errorf("parameter %q: %d out of range [%d, %d]", name, v, lo, hi)
	}
	return v, true, nil
}

func boolParam(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		_, present := q[name]
		return present, nil // "?all" alone means true
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("parameter %q: %q is not a boolean", name, s)
	}
	return b, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ---- handlers --------------------------------------------------------------

func handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		httpError(w, http.StatusNotFound, "no such endpoint %s", r.URL.Path)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, `demo-target endpoints:
  GET  /healthz
  GET  /work[?sleep_ms=N][&kib=N]     (kib/64 short-lived 64-byte objects: churn)
  GET  /read[?pages=N]               (random pages of the -data-mib file)
  POST /grow?mib=N[&object_bytes=B]   (GET accepted too)
  POST /grow?objects=N[&object_bytes=B]
  POST /drop[?all=1]
  POST /debug/free                   (SIGUSR1 does the same)
  POST /leak-goroutines?n=N
  POST /leak?objects_per_s=N[&object_bytes=B][&seconds=S]   (constant-rate retention; 0 stops)
  POST /churn?live_mib=N&mib_per_s=R[&seconds=S]
  GET  /stats
  GET  /debug/pprof/
`)
}

func handleHealthz(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "ok")
}

func handleWork(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	sleepMs, _, err := intParam(q, "sleep_ms", 0, maxSleepMs)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	kib, present, err := intParam(q, "kib", 0, maxWorkKiB)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !present {
		kib = defaultWorkKiB
	}
	start := time.Now()
	n, sum := doWork(kib)
	if sleepMs > 0 {
		t := time.NewTimer(time.Duration(sleepMs) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // client went away
		}
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"ok":         true,
		"objects":    n,
		"bytes":      n * 64,
		"sha256":     hex.EncodeToString(sum[:8]),
		"sleep_ms":   sleepMs,
		"elapsed_ms": ms(time.Since(start)),
	})
}

func handleGrow(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost, http.MethodGet) {
		return
	}
	q := r.URL.Query()
	mibs, hasMiB, err := intParam(q, "mib", 0, maxGrowMiB)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	objects, hasObjects, err := intParam(q, "objects", 0, maxGrowObjects)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	objBytes, hasObjBytes, err := intParam(q, "object_bytes", 1, maxObjectBytes)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !hasObjBytes {
		objBytes = defObjectBytes
	}
	switch {
	case hasMiB && hasObjects:
		httpError(w, http.StatusBadRequest, "give either mib or objects, not both")
		return
	case !hasMiB && !hasObjects:
		httpError(w, http.StatusBadRequest, "missing parameter: mib=N or objects=N")
		return
	case hasMiB:
		objects = mibs * mib / objBytes
		if mibs > 0 && objects == 0 {
			httpError(w, http.StatusBadRequest, "object_bytes=%d is larger than mib=%d", objBytes, mibs)
			return
		}
		if objects > maxGrowObjects {
			httpError(w, http.StatusBadRequest, "mib=%d with object_bytes=%d needs %d objects, over the cap of %d", mibs, objBytes, objects, int64(maxGrowObjects))
			return
		}
	}
	// objects <= 1e8 and objBytes <= 2^30, so the product fits in int64.
	if total := objects * objBytes; total > maxGrowMiB*mib {
		httpError(w, http.StatusBadRequest, "objects=%d x object_bytes=%d = %d bytes, over the cap of %d MiB", objects, objBytes, total, int64(maxGrowMiB))
		return
	}

	start := time.Now()
	var objs [][]byte
	if objects > 0 {
		objs = retainObjects(objects, int(objBytes))
	}
	// Counters change under mu together with batches, so a concurrent /drop
	// never leaves them out of step with what is really retained.
	mu.Lock()
	if objects > 0 {
		batches = append(batches, objs)
	}
	totalBytes := retainedBytes.Add(objects * objBytes)
	totalObjects := retainedObjects.Add(objects)
	mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"added_bytes":      objects * objBytes,
		"added_objects":    objects,
		"object_bytes":     objBytes,
		"retained_bytes":   totalBytes,
		"retained_objects": totalObjects,
		"elapsed_ms":       ms(time.Since(start)),
	})
}

func handleDrop(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	all, err := boolParam(r.URL.Query(), "all")
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	start := time.Now()
	mu.Lock()
	droppedBytes := retainedBytes.Swap(0)
	droppedObjects := retainedObjects.Swap(0)
	batches = nil
	leakSet = nil
	if all {
		baseline = nil
		droppedBytes += baselineBytes.Swap(0)
		droppedObjects += baselineObjects.Swap(0)
	}
	old := leaks
	leaks = &leakGen{ch: make(chan struct{})}
	mu.Unlock()

	released := old.n
	close(old.ch)
	done := make(chan struct{})
	go func() { old.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	runtime.GC()

	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"dropped_bytes":       droppedBytes,
		"dropped_objects":     droppedObjects,
		"released_goroutines": released,
		"retained_bytes":      retainedBytes.Load(),
		"retained_objects":    retainedObjects.Load(),
		"baseline_bytes":      baselineBytes.Load(),
		"HeapAlloc":           m.HeapAlloc,
		"HeapInuse":           m.HeapInuse,
		"goroutines":          runtime.NumGoroutine(),
		"elapsed_ms":          ms(time.Since(start)),
	})
}

type memSnapshot struct {
	HeapReleased uint64           `json:"HeapReleased"`
	HeapIdle     uint64           `json:"HeapIdle"`
	HeapInuse    uint64           `json:"HeapInuse"`
	HeapSys      uint64           `json:"HeapSys"`
	Sys          uint64           `json:"Sys"`
	Proc         map[string]int64 `json:"proc,omitempty"`
}

func snapshot() memSnapshot {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSnapshot{
		HeapReleased: m.HeapReleased,
		HeapIdle:     m.HeapIdle,
		HeapInuse:    m.HeapInuse,
		HeapSys:      m.HeapSys,
		Sys:          m.Sys,
		Proc:         procMemory(),
	}
}

func handleFree(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	before := snapshot()
	start := time.Now()
	debug.FreeOSMemory()
	elapsed := time.Since(start)
	after := snapshot()
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"before":     before,
		"after":      after,
		"elapsed_ms": ms(elapsed),
	})
}

func handleLeak(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	n, present, err := intParam(r.URL.Query(), "n", 0, maxLeakPerCall)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !present {
		httpError(w, http.StatusBadRequest, "missing parameter: n=N")
		return
	}
	mu.Lock()
	g := leaks
	g.wg.Add(int(n))
	g.n += n
	leakedCount.Add(n)
	for i := int64(0); i < n; i++ {
		go leakedGoroutine(g)
	}
	mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"started":           n,
		"leaked_goroutines": leakedCount.Load(),
		"goroutines":        runtime.NumGoroutine(),
	})
}

func envOrNull(name string) *string {
	if v, ok := os.LookupEnv(name); ok {
		return &v
	}
	return nil
}

func handleStats(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"pid":        os.Getpid(),
		"go_version": runtime.Version(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"uptime_s":   time.Since(startTime).Seconds(),
		"env": map[string]*string{
			"GOGC":       envOrNull("GOGC"),
			"GOMEMLIMIT": envOrNull("GOMEMLIMIT"),
			"GODEBUG":    envOrNull("GODEBUG"),
		},
		"memory_limit": debug.SetMemoryLimit(-1), // effective limit; -1 only reads
		"major_faults": majorFaults(),
		"data_bytes":   len(dataMap),
		"memstats": map[string]uint64{
			"HeapObjects":  m.HeapObjects,
			"HeapAlloc":    m.HeapAlloc,
			"HeapInuse":    m.HeapInuse,
			"HeapIdle":     m.HeapIdle,
			"HeapReleased": m.HeapReleased,
			"HeapSys":      m.HeapSys,
			"Sys":          m.Sys,
			"NumGC":        uint64(m.NumGC),
			"PauseTotalNs": m.PauseTotalNs,
			"NextGC":       m.NextGC,
			"TotalAlloc":   m.TotalAlloc,
			"Mallocs":      m.Mallocs,
			"Frees":        m.Frees,
		},
		"retained_bytes":    retainedBytes.Load(),
		"retained_objects":  retainedObjects.Load(),
		"baseline_bytes":    baselineBytes.Load(),
		"baseline_objects":  baselineObjects.Load(),
		"goroutines":        runtime.NumGoroutine(),
		"leaked_goroutines": leakedCount.Load(),
		"work_kib":          defaultWorkKiB,
		"proc":              procMemory(),
	})
}

// ---- /churn: allocation rate over a live set ---------------------------------

// churnChunk is the unit of /churn: 64 KiB, pointer-free, so marking the live
// set is cheap and the heap goal (live set x (1 + GOGC/100)) decides the peak.
const (
	churnChunk     = 64 << 10
	maxChurnMiBPS  = 4096
	maxChurnSecond = 3600
)

type churner struct {
	stop chan struct{}
	done chan struct{}
}

var (
	churnMu    sync.Mutex
	curChurner *churner
	churnSink  []byte // garbage with no live set goes here so it is really allocated
)

// churnAlloc allocates one chunk and touches every page of it.
//
//go:noinline
func churnAlloc() []byte {
	b := make([]byte, churnChunk)
	for j := 0; j < len(b); j += 4096 {
		b[j] = 1
	}
	return b
}

// churnLoop keeps liveMiB MiB reachable in a ring of chunks and replaces one
// chunk after another at mibPerS MiB/s, so the old chunk becomes garbage: a
// constant live set with a steady allocation rate, the load where GOGC and
// GOMEMLIMIT decide how high the heap (and the cgroup's usage) peaks.
func churnLoop(c *churner, liveMiB, mibPerS, seconds int64) {
	defer close(c.done)
	ring := make([][]byte, liveMiB*mib/churnChunk)
	for i := range ring {
		ring[i] = churnAlloc()
	}
	var deadline time.Time
	if seconds > 0 {
		deadline = time.Now().Add(time.Duration(seconds) * time.Second)
	}
	const tick = 10 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	// The debt grows with the time that really passed (a ticker drops ticks
	// on a busy machine), capped at one second's worth.
	rate := float64(mibPerS * mib)
	owed := 0.0
	idx := 0
	last := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
		}
		now := time.Now()
		if !deadline.IsZero() && now.After(deadline) {
			return
		}
		owed += rate * now.Sub(last).Seconds()
		if owed > rate {
			owed = rate
		}
		last = now
		for ; owed >= churnChunk; owed -= churnChunk {
			if len(ring) == 0 {
				churnSink = churnAlloc()
				continue
			}
			ring[idx] = churnAlloc()
			idx = (idx + 1) % len(ring)
		}
	}
}

// handleChurn: POST /churn?live_mib=N&mib_per_s=R[&seconds=S] replaces the
// running churner (if any) with a new one; live_mib=0&mib_per_s=0 only stops
// it. seconds=0 (the default) runs until replaced or stopped.
func handleChurn(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	live, _, err := intParam(q, "live_mib", 0, maxGrowMiB)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	rate, _, err := intParam(q, "mib_per_s", 0, maxChurnMiBPS)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	seconds, _, err := intParam(q, "seconds", 0, maxChurnSecond)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	churnMu.Lock()
	defer churnMu.Unlock()
	stopped := false
	if curChurner != nil {
		close(curChurner.stop)
		<-curChurner.done
		curChurner = nil
		stopped = true
	}
	started := live > 0 || rate > 0
	if started {
		c := &churner{stop: make(chan struct{}), done: make(chan struct{})}
		curChurner = c
		go churnLoop(c, live, rate, seconds)
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"stopped_previous": stopped,
		"started":          started,
		"live_mib":         live,
		"mib_per_s":        rate,
		"seconds":          seconds,
	})
}

// ---- /leak: retention at a constant rate -------------------------------------

const maxLeakObjectsPerS = 10_000_000

type leaker struct {
	stop chan struct{}
	done chan struct{}
}

var (
	leakMu     sync.Mutex
	curLeaker  *leaker
	leakedObjs atomic.Int64 // objects retained by /leak since start (dropped by /drop too)
	leakSet    [][]byte     // guarded by mu
)

// leakObjects allocates count objects of size bytes and keeps them reachable
// in leakSet (one growing slice, so exactly count objects more are live; /drop
// releases them). It must stay non-inlined so that
// heap-profile diffs attribute the leak to main.leakObjects.
//
//go:noinline
func leakObjects(count int64, size int) {
	mu.Lock()
	for i := int64(0); i < count; i++ {
		b := make([]byte, size)
		b[0] = byte(i) | 1
		leakSet = append(leakSet, b)
	}
	retainedBytes.Add(count * int64(size))
	retainedObjects.Add(count)
	mu.Unlock()
	leakedObjs.Add(count)
}

// leakLoop retains perS objects a second, in 10 ms steps, for seconds (0:
// until stopped). The owed count grows with the time that really passed, so a
// busy machine delays objects but does not lose them: the long-run rate is
// perS.
func leakLoop(l *leaker, perS, size, seconds int64) {
	defer close(l.done)
	var deadline time.Time
	if seconds > 0 {
		deadline = time.Now().Add(time.Duration(seconds) * time.Second)
	}
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	owed := 0.0
	last := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
		}
		now := time.Now()
		if !deadline.IsZero() && now.After(deadline) {
			return
		}
		owed += float64(perS) * now.Sub(last).Seconds()
		last = now
		if n := int64(owed); n > 0 {
			leakObjects(n, int(size))
			owed -= float64(n)
		}
	}
}

// handleLeakObjects: POST /leak?objects_per_s=N[&object_bytes=B][&seconds=S]
// replaces the running leaker (if any) with one that retains N objects of B
// bytes (default 64) a second; objects_per_s=0 only stops it.
func handleLeakObjects(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	q := r.URL.Query()
	perS, present, err := intParam(q, "objects_per_s", 0, maxLeakObjectsPerS)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !present {
		httpError(w, http.StatusBadRequest, "missing parameter: objects_per_s=N")
		return
	}
	size, hasSize, err := intParam(q, "object_bytes", 1, 1<<20)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !hasSize {
		size = 64
	}
	seconds, _, err := intParam(q, "seconds", 0, maxChurnSecond)
	if err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	leakMu.Lock()
	defer leakMu.Unlock()
	stopped := false
	if curLeaker != nil {
		close(curLeaker.stop)
		<-curLeaker.done
		curLeaker = nil
		stopped = true
	}
	if perS > 0 {
		l := &leaker{stop: make(chan struct{}), done: make(chan struct{})}
		curLeaker = l
		go leakLoop(l, perS, size, seconds)
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{
		"stopped_previous": stopped,
		"started":          perS > 0,
		"objects_per_s":    perS,
		"object_bytes":     size,
		"seconds":          seconds,
		"leaked_objects":   leakedObjs.Load(),
	})
}

// ---- main ------------------------------------------------------------------

func main() {
	addr := flag.String("addr", "127.0.0.1:6060", "listen address (host:port; port 0 picks a free port)")
	workKiB := flag.Int64("work-kib", 64, "KiB allocated in 64-byte objects per /work request")
	baselineMiB := flag.Int64("baseline-mib", 0, "MiB retained at start (1 KiB objects)")
	dataMiB := flag.Int64("data-mib", 0, "MiB of a data file mapped at start, read by /read (page cache, not heap)")
	dataDir := flag.String("data-dir", os.TempDir(), "directory for the -data-mib file (unlinked at once)")
	profileRate := flag.Int("mem-profile-rate", runtime.MemProfileRate,
		"bytes per heap-profile sample (runtime.MemProfileRate); Go 1.19 ignores GODEBUG=memprofilerate")
	flag.Parse()

	fail := func(code int, format string, args ...interface{}) {
		fmt.Fprintf(os.Stderr, "demo-target: "+format+"\n", args...)
		os.Exit(code)
	}
	if flag.NArg() > 0 {
		fail(2, "unexpected arguments: %q", flag.Args())
	}
	if *workKiB < 0 || *workKiB > maxWorkKiB {
		fail(2, "-work-kib %d out of range [0, %d]", *workKiB, maxWorkKiB)
	}
	if *baselineMiB < 0 || *baselineMiB > maxGrowMiB {
		fail(2, "-baseline-mib %d out of range [0, %d]", *baselineMiB, maxGrowMiB)
	}
	if *dataMiB < 0 || *dataMiB > maxDataMiB {
		fail(2, "-data-mib %d out of range [0, %d]", *dataMiB, maxDataMiB)
	}
	if *profileRate < 1 {
		fail(2, "-mem-profile-rate %d must be at least 1", *profileRate)
	}
	runtime.MemProfileRate = *profileRate
	defaultWorkKiB = *workKiB

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fail(1, "listen: %v", err)
	}
	if *baselineMiB > 0 {
		retainBaseline(*baselineMiB)
	}
	if *dataMiB > 0 {
		if err := openDataFile(*dataDir, *dataMiB); err != nil {
			fail(1, "%v", err)
		}
	}

	mux := http.DefaultServeMux // net/http/pprof registered itself here
	mux.HandleFunc("/", handleIndex)
	mux.HandleFunc("/healthz", handleHealthz)
	mux.HandleFunc("/work", handleWork)
	mux.HandleFunc("/grow", handleGrow)
	mux.HandleFunc("/drop", handleDrop)
	mux.HandleFunc("/debug/free", handleFree)
	mux.HandleFunc("/leak-goroutines", handleLeak)
	mux.HandleFunc("/stats", handleStats)
	mux.HandleFunc("/churn", handleChurn)
	mux.HandleFunc("/read", handleRead)
	mux.HandleFunc("/leak", handleLeakObjects)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// SIGUSR1 is the signal form of POST /debug/free (memstrain's release trigger
	// {"signal": "SIGUSR1"}).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			debug.FreeOSMemory()
		}
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "demo-target listening on %s pid %d\n", ln.Addr(), os.Getpid())

	select {
	case err := <-serveErr:
		fail(1, "serve: %v", err)
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way
	fmt.Fprintf(os.Stderr, "demo-target shutting down\n")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running (e.g. a long /work?sleep_ms or /grow):
		// close their connections and exit anyway.
		_ = srv.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "demo-target: serve: %v\n", err)
	}
	// Returning from main exits 0 even if a handler is still running.
}
