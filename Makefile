# s3rec: `make demo` runs the bundled example end to end, `make test` the test suite.
# Both install missing Debian packages first (scripts/setup.sh, idempotent).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: setup build test demo bench clean

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

clean:
	rm -rf $(BUILD) $(BUILD).configure.log
