# memstrain: `make demo` and `make test` are the two commands; both install what is missing (as root).
BUILD     ?= build
JOBS      ?= 2
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=

.PHONY: all deps build go demo lint format test test-plain test-unit test-integration test-asan test-cgroup2 bench bench-cgroup2 fuzz soak clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

go: deps
	@tests/go-build.sh

demo: build go
	@scripts/demo.sh $(BUILD)/memstrain

# The whole suite runs under AddressSanitizer + UBSan (scripts/test-asan.sh, in $(ASAN_BUILD)/),
# then the timing-free v2 subset in a cgroup v2 guest under THP always and madvise (scripts/vm/,
# on the same sanitizer build; `make test-cgroup2` runs all of it and the demo), then each fuzz target for 5 s, then the offline k8s checks. test-plain runs
# the same suite on the optimised build that demo and bench use.
ASAN_BUILD ?= build-asan
test: deps go lint
	BUILD=$(ASAN_BUILD) JOBS=$(JOBS) scripts/test-asan.sh
	scripts/vm/test-cgroup2.sh --quick $(ASAN_BUILD)
	scripts/fuzz.sh 5
	BUILD=$(ASAN_BUILD) scripts/k8s-validate.sh

# The real-cgroup integration tests and plans/demo.json on a real cgroup v2 memory controller: a
# throwaway qemu guest per THP mode (MEMSTRAIN_VM_THP="always madvise"); logs in $(BUILD)/vm-results/.
test-cgroup2: build go
	scripts/vm/test-cgroup2.sh $(BUILD)

test-plain: build go
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j2
	scripts/fuzz.sh 5
	BUILD=$(BUILD) scripts/k8s-validate.sh

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-integration: build go
	cd $(BUILD) && ctest --output-on-failure -L integration

# Only the sanitizer suite; ASAN_TESTS narrows it with ctest arguments, e.g. ASAN_TESTS="-L unit".
ASAN_TESTS ?=
test-asan: deps go
	BUILD=$(ASAN_BUILD) JOBS=$(JOBS) scripts/test-asan.sh $(ASAN_TESTS)

bench: build go
	@scripts/install-deps.sh stress-ng wrk hey time
	bench/run-all.sh $(BUILD)

# Setpoint precision and hold CPU on cgroup v2, in the test guest (TCG here): BENCHMARKS.md.
bench-cgroup2: build go
	@INITRD=No scripts/install-deps.sh qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
	bench/cgroup2_bench.sh $(BUILD)

fuzz: deps
	scripts/fuzz.sh 300

soak: build go
	cd $(BUILD) && MEMSTRAIN_KILL_TRIALS=50 ctest --output-on-failure -R KillTest

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) out

# The C++ tree is kept in .clang-format's style: `make format` rewrites it, `make lint` (part of
# `make test`) fails on any file that is not, or on an include that breaks the dependency rule of
# docs/architecture.md (scripts/check-layers.py).
CXX_SOURCES = $(shell git ls-files '*.cpp' '*.hpp' 2>/dev/null)
format:
	clang-format -i $(CXX_SOURCES)

lint:
	@command -v clang-format >/dev/null || scripts/install-deps.sh clang-format
	@clang-format --dry-run -Werror $(CXX_SOURCES) && echo "lint: $(words $(CXX_SOURCES)) files formatted"
	@scripts/check-layers.py
