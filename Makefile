# s3rec: `make demo` runs the bundled example end to end, `make test` the test suite.
# Both install missing Debian packages first (scripts/setup.sh, idempotent).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

# Sanitized builds in their own directories (docs/reliability.md, "Sanitizers" and "Fuzzing").
# build-asan: clang, ASan + LSan + UBSan for the library, CLI, tests and the libFuzzer harnesses
# (one build serves make check-sanitize and make fuzz); build-tsan: clang, ThreadSanitizer.
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
SAN_FLAGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO='-O1 -DNDEBUG' \
  -DCMAKE_CXX_COMPILER=clang++ -DS3REC_BUILD_BENCH=OFF -DS3REC_BUILD_PYTHON=OFF
ASAN_CONFIGURE = cmake -S . -B $(ASAN_BUILD) $(SAN_FLAGS) -DS3REC_SANITIZE=address,undefined -DS3REC_FUZZ=ON \
  $(CMAKE_FLAGS) > $(ASAN_BUILD).configure.log || (cat $(ASAN_BUILD).configure.log; exit 1)

.PHONY: setup build test demo bench clean fuzz check-sanitize check-tsan

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log || (cat $(BUILD).configure.log; exit 1)
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@cd $(BUILD) && OMP_NUM_THREADS=$(JOBS) ctest --output-on-failure -j1 --timeout 900

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@$(BUILD)/bench_pretrain_step

# the whole suite under AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer;
# SANITIZE_SKIP: a ctest regex of tests to leave out (CI leaves out the longest end-to-end runs)
SANITIZE_SKIP ?=
check-sanitize: setup
	@S3REC_WITH_CLANG=1 bash scripts/setup.sh
	@$(ASAN_CONFIGURE)
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && OMP_NUM_THREADS=$(JOBS) ctest --output-on-failure -j1 --timeout 1800 $(if $(SANITIZE_SKIP),-E '$(SANITIZE_SKIP)')

# the libFuzzer harnesses (fuzz/) alone, in the same build; scripts/fuzz_ci.sh runs them
fuzz: setup
	@S3REC_WITH_CLANG=1 bash scripts/setup.sh
	@$(ASAN_CONFIGURE)
	@cmake --build $(ASAN_BUILD) -j$(JOBS) --target s3rec_fuzzers

# ThreadSanitizer, built with clang: LLVM's libomp loads libarcher, which tells TSan about OpenMP's
# synchronisation (GCC's libgomp is not instrumented and gives false reports). Serving (HTTP server,
# Recommender shared by threads, faiss) and the OpenMP kernels, with 2 OpenMP threads.
# Left out: the long end-to-end runs, the CLI runs of Cli.* and Tune.* (covered by ASan), and one
# test of GCC's -ffast-math rounding that clang's -ffast-math rounds otherwise; the runs under a
# file-size limit (ulimit -f), where TSan's own runtime dies of SIGBUS (docs/reliability.md).
TSAN_TESTS ?= -EndToEnd.*:Trajectory.*:Cli.*:Tune.*:KernelGrad.ExtremeLogitsStayFinite:WriteFailures.FullDisk*
check-tsan: setup
	@S3REC_WITH_CLANG=1 bash scripts/setup.sh
	@cmake -S . -B $(TSAN_BUILD) $(SAN_FLAGS) -DS3REC_SANITIZE=thread -DS3REC_WITH_MPI=OFF $(CMAKE_FLAGS) > $(TSAN_BUILD).configure.log || (cat $(TSAN_BUILD).configure.log; exit 1)
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target s3rec s3rec_tests
	@cd $(TSAN_BUILD) && OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive TSAN_OPTIONS=ignore_noninstrumented_modules=1 ./s3rec_tests --gtest_filter='$(TSAN_TESTS)'

clean:
	rm -rf $(BUILD) $(BUILD).configure.log $(ASAN_BUILD) $(ASAN_BUILD).configure.log $(TSAN_BUILD) $(TSAN_BUILD).configure.log
