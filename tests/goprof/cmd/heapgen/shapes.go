package main

// Allocation shapes. Every allocating function is //go:noinline so that it
// shows up as its own frame in the heap profile, and every retained object
// is linked from a package-level variable so it is still live when the
// profile is written. Object types are sized to exact size classes (64, 256,
// 4096 bytes; 1 MiB is a whole number of pages), so with MemProfileRate=1
// inuse_space equals objects x size exactly.

// expect describes what one allocation site should contribute to the profile.
type expect struct {
	Func        string `json:"func"`         // leaf frame, as pprof names it
	Stack       string `json:"stack"`        // leaf-first caller chain (own frames only)
	Objects     int64  `json:"objects"`      // allocations made
	ObjectBytes int64  `json:"object_bytes"` // bytes per object
	Bytes       int64  `json:"bytes"`        // Objects * ObjectBytes
	Live        bool   `json:"live"`         // retained (inuse_*) or garbage (alloc_* only)
}

// ---- small -----------------------------------------------------------------

type obj64 struct {
	next *obj64
	pad  [56]byte
}

type obj256 struct {
	next *obj256
	pad  [248]byte
}

type obj4k struct {
	next *obj4k
	pad  [4088]byte
}

type obj128 struct {
	next *obj128
	pad  [120]byte
}

type obj1m struct {
	next *obj1m
	pad  [1<<20 - 8]byte
}

const (
	countA, sizeA = 1000, 64
	countB, sizeB = 500, 4096
	countC, sizeC = 250, 256
	countD, sizeD = 4, 1 << 20
	countT, sizeT = 2000, 128
)

var (
	keepA *obj64
	keepB *obj4k
	keepC *obj256
	keepD *obj1m
	sinkT *obj128 // garbage: cleared before the GC that publishes the profile
)

//go:noinline
func allocA() {
	for i := 0; i < countA; i++ {
		o := new(obj64)
		o.pad[0] = byte(i)
		o.next = keepA
		keepA = o
	}
}

//go:noinline
func allocB() {
	for i := 0; i < countB; i++ {
		o := new(obj4k)
		o.pad[0] = byte(i)
		o.next = keepB
		keepB = o
	}
}

//go:noinline
func allocC() {
	for i := 0; i < countC; i++ {
		o := new(obj256)
		o.pad[0] = byte(i)
		o.next = keepC
		keepC = o
	}
}

// allocCOuter exists only to put a nested caller above allocC.
//
//go:noinline
func allocCOuter() {
	allocC()
}

//go:noinline
func allocD() {
	for i := 0; i < countD; i++ {
		o := new(obj1m)
		o.pad[0] = byte(i)
		o.next = keepD
		keepD = o
	}
}

// allocTemp makes short-lived garbage: it appears in alloc_objects/alloc_space
// but not in inuse_objects/inuse_space.
//
//go:noinline
func allocTemp() {
	for i := 0; i < countT; i++ {
		o := new(obj128)
		o.pad[0] = byte(i)
		o.next = sinkT
		sinkT = o
	}
	sinkT = nil
}

//go:noinline
func runSmall() []expect {
	allocA()
	allocB()
	allocCOuter()
	allocD()
	allocTemp()
	return smallExpect()
}

// smallExpect is kept out of runSmall so that runSmall itself allocates
// nothing.
//
//go:noinline
func smallExpect() []expect {
	e := func(fn, stack string, n, size int64, live bool) expect {
		return expect{Func: fn, Stack: stack, Objects: n, ObjectBytes: size, Bytes: n * size, Live: live}
	}
	return []expect{
		e("main.allocA", "main.allocA<main.runSmall<main.main", countA, sizeA, true),
		e("main.allocB", "main.allocB<main.runSmall<main.main", countB, sizeB, true),
		e("main.allocC", "main.allocC<main.allocCOuter<main.runSmall<main.main", countC, sizeC, true),
		e("main.allocD", "main.allocD<main.runSmall<main.main", countD, sizeD, true),
		e("main.allocTemp", "main.allocTemp<main.runSmall<main.main", countT, sizeT, false),
	}
}

// ---- large / huge: a full binary tree of calls ------------------------------
//
// runTree(depth) calls treeL and treeR, which each recurse into treeL and
// treeR until depth frames are on the stack; each of the 2^depth leaves
// allocates one 48-byte object. The sequence of treeL/treeR frames spells the
// leaf's index in binary, so every leaf has a distinct call stack and becomes
// its own sample.

type leaf struct {
	next *leaf
	id   uint64
	pad  [4]uint64
}

const leafBytes = 48

var leaves *leaf

//go:noinline
func treeL(d int, id uint64) {
	if d == 0 {
		leaves = &leaf{next: leaves, id: id}
		return
	}
	treeL(d-1, id<<1)
	treeR(d-1, id<<1|1)
}

//go:noinline
func treeR(d int, id uint64) {
	if d == 0 {
		leaves = &leaf{next: leaves, id: id}
		return
	}
	treeL(d-1, id<<1)
	treeR(d-1, id<<1|1)
}

//go:noinline
func runTree(depth int) []expect {
	treeL(depth-1, 0)
	treeR(depth-1, 1)
	half := int64(1) << (depth - 1)
	return []expect{
		{Func: "main.treeL", Stack: "main.treeL<{main.treeL|main.treeR}...<main.runTree<main.main", Objects: half, ObjectBytes: leafBytes, Bytes: half * leafBytes, Live: true},
		{Func: "main.treeR", Stack: "main.treeR<{main.treeL|main.treeR}...<main.runTree<main.main", Objects: half, ObjectBytes: leafBytes, Bytes: half * leafBytes, Live: true},
	}
}
