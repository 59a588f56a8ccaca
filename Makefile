# openmtd top-level targets (DESIGN.md section 4). CMake does the building; this file
# installs dependencies first so that each target works on a fresh Debian machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
DEMO_DIR   ?= $(CURDIR)/.demo
DEMO_RESET ?= 0
DEMO_SCALE_DIR ?= $(CURDIR)/.demo-scale

.PHONY: all deps build check test test-asan bench fuzz fuzz-smoke demo demo-scale demo-stop clean

all: build

deps:
	@scripts/install-deps --build

# The build log is shown only when the build fails.
build: deps
	@mkdir -p $(BUILD)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >$(BUILD)/configure.log 2>&1 || { cat $(BUILD)/configure.log; exit 1; }
	@cmake --build $(BUILD) -j $(JOBS) >$(BUILD)/build.log 2>&1 || { cat $(BUILD)/build.log; exit 1; }
	@echo "built $(BUILD)/bin/mtd-agent, $(BUILD)/bin/mtd-collector, $(BUILD)/bin/mtdctl"

# Every test, once normally and once under AddressSanitizer + UBSan, then every fuzz
# target over its corpus (a regression run, not a fuzzing campaign).
check:
	@scripts/install-deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory fuzz-smoke

test:
	@cd $(BUILD) && ctest --output-on-failure -j 2

test-asan:
	@mkdir -p $(ASAN_BUILD)
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMTD_SANITIZE=ON >$(ASAN_BUILD)/configure.log 2>&1 || { cat $(ASAN_BUILD)/configure.log; exit 1; }
	@cmake --build $(ASAN_BUILD) -j $(JOBS) >$(ASAN_BUILD)/build.log 2>&1 || { cat $(ASAN_BUILD)/build.log; exit 1; }
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

bench: build
	@scripts/run-bench $(BUILD)

fuzz:
	@scripts/install-deps
	@mkdir -p $(FUZZ_BUILD)
	@CC=clang cmake -S fuzz -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >$(FUZZ_BUILD)/configure.log 2>&1 || { cat $(FUZZ_BUILD)/configure.log; exit 1; }
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) >$(FUZZ_BUILD)/build.log 2>&1 || { cat $(FUZZ_BUILD)/build.log; exit 1; }
	@echo "fuzz targets in $(FUZZ_BUILD)/; run e.g. $(FUZZ_BUILD)/fuzz_batch fuzz/corpus/fuzz_batch"

fuzz-smoke: fuzz
	@scripts/fuzz-smoke $(FUZZ_BUILD)

demo:
	@scripts/install-deps --demo
	@$(MAKE) --no-print-directory build
	@DEMO_RESET=$(DEMO_RESET) scripts/demo $(BUILD) $(DEMO_DIR)

# The scale-out set-up: PostgreSQL, three collectors, nginx in front, a few agents.
demo-scale:
	@scripts/install-deps --scale
	@$(MAKE) --no-print-directory build
	@scripts/demo-scale $(BUILD) $(DEMO_SCALE_DIR)

# Stops both demos (each says whether it was running).
demo-stop:
	@scripts/demo-stop $(DEMO_DIR)
	@scripts/demo-scale stop $(DEMO_SCALE_DIR)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
