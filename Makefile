# eddy — front door for building and testing. The real build is CMake's
# (CMakeLists.txt); every build directory lives under build/.
#
#   make                 check deps, configure and build build/release
#   make test            build with -Werror and run the tests (ctest)
#   make test-asan       tests under AddressSanitizer + UBSan   (build/asan)
#   make test-tsan       tests under ThreadSanitizer, with clang (build/tsan)
#   make test-valgrind   tests of build/release under valgrind memcheck
#   make test-ucontext   tests with the portable ucontext switch (build/ucontext)
#   make cross-aarch64   library + examples for aarch64, run under qemu (build/aarch64)
#   make demo            build and run build/release/demo
#   make bench           eddy vs Tokio on every workload (bench/run.py), results
#                        in bench/results/; make bench-quick: a short pass
#   make docs            API reference with Doxygen (build/docs/html)
#   make install         install to $(PREFIX) (default /usr/local)
#   make clean           remove build/

MAKEFLAGS  += --no-print-directory

PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
TSAN_CC    ?= clang
# Test executables for test-valgrind, by name ("all": every test_*).
VALGRIND_TESTS ?= all

CMAKE      ?= cmake
CTEST      ?= ctest
BUILD      := build
RELEASE    := $(BUILD)/release
ASAN       := $(BUILD)/asan
TSAN       := $(BUILD)/tsan
AARCH64    := $(BUILD)/aarch64

CTEST_RUN   = $(CTEST) --output-on-failure -j$(CTEST_JOBS) --test-dir
# Extra cmake options for every configure step, e.g.
#   make test CMAKE_EXTRA=-DEDDY_FORCE_UCONTEXT=ON
CMAKE_EXTRA ?=

# CRITERION_JOBS=1: Criterion 2.4.1's runner, running two tests at once,
# can lose a 48-byte block of its own in the parent process (allocated and
# leaked inside libcriterion, no test code involved), which LeakSanitizer
# then reports; one test at a time per executable avoids it, and ctest still
# runs two executables at once.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CRITERION_JOBS=1
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

.PHONY: all build build-werror deps deps-cross configure test test-asan test-tsan \
        test-valgrind test-ucontext cross-aarch64 docs demo bench install clean help

all: build

help:
	@sed -n '1,/^$$/p' Makefile

deps:
	@bash scripts/deps.sh

deps-cross:
	@bash scripts/deps.sh --cross

# ---- release build (build/release) ---------------------------------------
configure: deps
	$(CMAKE) -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_EXTRA)

build: configure
	$(CMAKE) --build $(RELEASE) -j$(JOBS)

# The release build with -Werror, for test and test-valgrind. (`make` leaves
# EDDY_WERROR as it was cached: OFF in a new build directory.)
build-werror: deps
	$(CMAKE) -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DEDDY_WERROR=ON $(CMAKE_EXTRA)
	$(CMAKE) --build $(RELEASE) -j$(JOBS)

test: build-werror
	$(CTEST_RUN) $(RELEASE)

# ---- sanitizers ------------------------------------------------------------
test-asan: deps
	$(CMAKE) -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DEDDY_WERROR=ON \
	    -DEDDY_SANITIZE=address,undefined $(CMAKE_EXTRA)
	$(CMAKE) --build $(ASAN) -j$(JOBS)
	$(ASAN_ENV) $(CTEST_RUN) $(ASAN)

test-tsan: deps
	CC=$(TSAN_CC) $(CMAKE) -S . -B $(TSAN) -DCMAKE_C_COMPILER=$(TSAN_CC) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_WERROR=ON \
	    -DEDDY_SANITIZE=thread $(CMAKE_EXTRA)
	$(CMAKE) --build $(TSAN) -j$(JOBS)
	$(TSAN_ENV) $(CTEST_RUN) $(TSAN)

# ---- valgrind: the release build's tests, every Criterion child checked ----
test-valgrind: build-werror
	VALGRIND_TESTS="$(VALGRIND_TESTS)" bash scripts/valgrind-tests.sh $(RELEASE)

# ---- cross build: the library and examples for AArch64; with qemu-user
# present, the hello example and the demo also run under emulation, which
# exercises the AArch64 context switch for real.
QEMU_AARCH64 := qemu-aarch64 -L /usr/aarch64-linux-gnu

cross-aarch64: deps-cross
	$(CMAKE) -S . -B $(AARCH64) \
	    -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchain-aarch64-linux-gnu.cmake \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_WERROR=ON \
	    -DEDDY_BUILD_TESTS=OFF -DEDDY_BUILD_EXAMPLES=ON -DEDDY_BUILD_BENCH=OFF \
	    $(CMAKE_EXTRA)
	$(CMAKE) --build $(AARCH64) -j$(JOBS)
	@if command -v qemu-aarch64 >/dev/null 2>&1; then \
	    set -e; for x in hello demo; do \
	        echo "== $$x (aarch64, under qemu)"; $(QEMU_AARCH64) $(AARCH64)/$$x; \
	    done; \
	else echo "qemu-aarch64 not found: built for aarch64, not run"; fi

# ---- the ucontext fallback, as used on CPUs without an assembly switch ----
UCONTEXT := $(BUILD)/ucontext

test-ucontext: deps
	$(CMAKE) -S . -B $(UCONTEXT) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEDDY_WERROR=ON \
	    -DEDDY_FORCE_UCONTEXT=ON $(CMAKE_EXTRA)
	$(CMAKE) --build $(UCONTEXT) -j$(JOBS)
	$(CTEST_RUN) $(UCONTEXT)

# ---- running things ----------------------------------------------------------
demo: build
	@test -x $(RELEASE)/demo || { echo "no $(RELEASE)/demo: write examples/demo.c"; exit 1; }
	$(RELEASE)/demo

# Benchmarks: eddy (build/release/bench_eddy) and its Tokio peer
# (bench/peers/tokio, built offline into build/tokio-peer) in alternation on
# every workload of ../shared/bench/WORKLOADS.md; prints the JSON lines and
# a table of eddy/Tokio ratios, and writes them with a chart to
# $(BENCH_OUT) (bench-quick: $(BENCH_OUT)/quick). Extra driver arguments:
#   make bench BENCH_ARGS="--workloads spawn_many,channel --rounds 7"
# Only the library, bench_eddy and the yield_many floor (bench_switch_floor)
# are built (in build/release), so that a broken example or test elsewhere
# does not stop a benchmark.
BENCH_OUT  ?= bench/results
BENCH_ARGS ?=
BENCH_BUILD = $(CMAKE) --build $(RELEASE) -j$(JOBS) --target bench_eddy bench_switch_floor
BENCH_RUN   = bash scripts/bench.sh --eddy $(RELEASE)/bench_eddy

bench: configure
	$(BENCH_BUILD)
	$(BENCH_RUN) --out $(BENCH_OUT) $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: configure
	$(BENCH_BUILD)
	$(BENCH_RUN) --quick --out $(BENCH_OUT)/quick $(BENCH_ARGS)

# API reference from the header comments; an undocumented public function,
# type or field fails it (docs/Doxyfile: WARN_AS_ERROR).
docs:
	@bash scripts/deps.sh --docs
	doxygen docs/Doxyfile
	@echo "API reference: build/docs/html/index.html"

install: build
	$(CMAKE) --install $(RELEASE) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
