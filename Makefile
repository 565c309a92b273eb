# s3rec: `make demo` runs the bundled example end to end, `make test` the test suite.
# Both install missing Debian packages first (scripts/setup.sh, idempotent).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: setup build test demo bench fuzz clean

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

# libFuzzer harnesses (fuzz/, clang++, ASan+UBSan) in build-fuzz; docs/reliability.md, "Fuzzing".
fuzz: setup
	@S3REC_WITH_FUZZ=1 bash scripts/setup.sh
	@cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DS3REC_FUZZ=ON \
	  -DS3REC_BUILD_TESTS=OFF -DS3REC_BUILD_BENCH=OFF -DS3REC_WITH_MPI=OFF > build-fuzz.configure.log \
	  || (cat build-fuzz.configure.log; exit 1)
	@cmake --build build-fuzz -j$(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD).configure.log
