# byoca top-level driver around CMake + ctest.
#   make            build (build/)
#   make check      install missing Debian packages, build, run every test,
#                   then every fuzz target for 10 s (fuzz-smoke)
#   make check-asan the same under AddressSanitizer + UBSan (build-asan/)
#   make check-valgrind the unit tests under valgrind (build-valgrind/)
#   make demo       issue a real certificate from a local Pebble CA
#   make bench      measure byoca against lego, certbot, uacme, dehydrated
#                   (sized for 20 minutes on 2 quiet cores; rewrites
#                   bench/RESULTS.md)
#   make bench-smoke every benchmark scenario at a tiny size (about a
#                   minute, part of make check): the harness cannot rot
#   make install    PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Under the sanitizers the scale tests run smaller: they look for memory
# errors there; the sizes the issues ask for run in `make check`.
ASAN_SCALE ?= BYOCA_ARI_MASS=100 BYOCA_CRASH_N=60 BYOCA_CRASH_KILLS=12 \
  BYOCA_CRASH_DELETES=6 BYOCA_BATCH_CRASH_N=20 BYOCA_BATCH_CRASH_KILLS=3 \
  BYOCA_NODES_N=100 BYOCA_RESTART_N=300
CTEST_ARGS ?=

.PHONY: all build deps check check-unit check-asan check-valgrind demo install clean format \
	fuzz-smoke fuzz bench bench-smoke

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

deps:
	scripts/install-deps.sh

check: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
	$(MAKE) fuzz-smoke
	$(MAKE) bench-smoke

check-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

check-asan: deps
	cmake -S . -B build-asan -DBYOCA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(ASAN_SCALE) ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

check-valgrind: deps
	cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-valgrind -j $(JOBS)
	tests/valgrind.sh build-valgrind

demo: deps
	$(MAKE) build
	scripts/demo.sh $(BUILD)/byoca

install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-valgrind build-fuzz

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

fuzz-smoke: deps
	tests/fuzz/build.sh && tests/fuzz/run.sh 10

fuzz: deps
	tests/fuzz/build.sh && tests/fuzz/run.sh 300

bench:
	bench/run.sh

bench-smoke: build
	BENCH_SMOKE=1 BUILD=$(BUILD) bench/run.sh
