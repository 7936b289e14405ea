# The two commands: `make run` and `make test`. Everything else is CMake's.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

.PHONY: all deps test-deps build run test test-fast test-asan fuzz clean

all: build

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	./$(BUILD)/waybilld serve --sandbox --data var

test: test-deps test-fast test-asan fuzz

test-fast: build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

test-asan: test-deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DWB_SANITIZE=ON \
		-DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(BUILD_ASAN) -j$(JOBS)
	# the sanitizers watch the code; the PostgreSQL run of the same tests adds nothing for them
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest $(CTEST_FLAGS) -LE pg

fuzz: test-deps
	@cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DWB_FUZZ=ON \
		-DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(BUILD_FUZZ) -j$(JOBS)
	cd $(BUILD_FUZZ) && ctest $(CTEST_FLAGS) -L fuzz

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
