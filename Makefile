# memstrain: `make demo` and `make test` are the two commands; both install what is missing (as root).
BUILD     ?= build
JOBS      ?= 2
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=

.PHONY: all deps build go demo lint format test test-plain test-unit test-integration test-matrix test-containers test-asan test-cgroup2 image bench bench-cgroup2 fuzz soak clean deb deb-test tidy

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
# then the v2 subset in one cgroup v2 guest (scripts/vm/: the v2 behaviours under THP always, the
# release runs under always and madvise; `make test-cgroup2` runs all of it and the demo under
# both), then each fuzz target for 5 s, then the offline k8s checks. test-plain runs the same suite
# on the optimised build that demo and bench use.
# Debian's prometheus package brings the real Prometheus server and promtool for the live-metrics
# scrape test and `promtool check metrics` (its service is not started: the test runs its own).
ASAN_BUILD ?= build-asan
test: deps go lint
	@scripts/install-deps.sh prometheus
	BUILD=$(ASAN_BUILD) JOBS=$(JOBS) scripts/test-asan.sh
	scripts/vm/test-cgroup2.sh --quick $(ASAN_BUILD)
	scripts/fuzz.sh 5
	BUILD=$(ASAN_BUILD) scripts/k8s-validate.sh
	BUILD=$(ASAN_BUILD) scripts/schema-validate.sh

# The real-cgroup integration tests and plans/demo.json on a real cgroup v2 memory controller: a
# throwaway qemu guest, one pass per THP mode (MEMSTRAIN_VM_THP="always madvise"); logs in $(BUILD)/vm-results/.
test-cgroup2: build go
	scripts/vm/test-cgroup2.sh $(BUILD)

test-plain: build go
	@scripts/install-deps.sh prometheus
	cd $(BUILD) && ctest --output-on-failure --timeout 600 -j2
	scripts/fuzz.sh 5
	BUILD=$(BUILD) scripts/k8s-validate.sh
	BUILD=$(BUILD) scripts/schema-validate.sh

# The kill/abort/hostile-target matrix alone (part of make test too): SIGTERM, SIGINT and SIGKILL
# (then recover) at random points, SIGHUP, a broken stdout, a second signal, a window check's
# abort, the target killed or OOM-killed, the stressor over the limit, 12 hostile-target
# misbehaviours on every endpoint, planted files and planted journals. Each run asserts that no
# cgroup, process or journal of it is left.
MATRIX = KillTest|SignalsTest|WindowAbortTest|ReleaseFirstTest|HostileTargetTest|RecoverTest|PlantedFilesTest|RunTest\.(Sigterm|TargetKilled|TargetOomKill|OverTheLimit)
test-matrix: build go
	cd $(BUILD) && ctest --output-on-failure -R '$(MATRIX)'

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

test-integration: build go
	@scripts/install-deps.sh prometheus
	cd $(BUILD) && ctest --output-on-failure -L integration

# The real-runtime tier alone (make test runs it too, as the ctest entry "containers").
test-containers: build go
	MEMSTRAIN_BINARY=$(BUILD)/memstrain scripts/containers-test.sh

# Opt-in, not part of make test (~8 min on a quiet machine, 23 min measured on a busy one): builds
# k8s/Dockerfile with podman from a locally imported debootstrap base and smoke-tests the image
# (memstrain --version, a dry run).
image: deps
	scripts/build-image.sh

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

# The kill test 50 times, then memstrain's own memory over 200,000 samples at 10 ms (about 34
# minutes; SOAK_SAMPLES=N for another length): RSS must stay flat and under 64 MiB.
SOAK_SAMPLES ?= 200000
soak: build go
	cd $(BUILD) && MEMSTRAIN_KILL_TRIALS=50 ctest --output-on-failure -R KillTest
	python3 bench/soak_bench.py $(BUILD)/memstrain --samples $(SOAK_SAMPLES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEB_BUILD) out

# The Debian package: the binary alone (BUILD_TESTING=OFF, no GoogleTest), stripped, with its man
# page, completion, plans, schemas and dashboard; Depends from dpkg-shlibdeps. deb-test installs it
# on a clean bookworm root made with debootstrap and runs it there (slow: see README "Packaging").
DEB_BUILD ?= build-deb
deb: deps
	@scripts/install-deps.sh file
	cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF $(CMAKE_FLAGS)
	cmake --build $(DEB_BUILD) -j$(JOBS)
	cd $(DEB_BUILD) && cpack -G DEB
	@ls -l $(DEB_BUILD)/memstrain_*.deb

deb-test: deb
	@scripts/install-deps.sh debootstrap
	scripts/deb-test.sh $(DEB_BUILD)/memstrain_*_$$(dpkg --print-architecture).deb

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

# The naming scheme and a few bug-prone checks (.clang-tidy) over src/, using the build's
# compile_commands.json. Not part of `make test`: it takes ~10 min on 2 cores.
tidy: build
	@command -v run-clang-tidy >/dev/null || scripts/install-deps.sh clang-tidy
	run-clang-tidy -quiet -j $(JOBS) -p build '$(CURDIR)/src/.*\.cpp$$'
