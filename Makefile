# The front door for people: every target sets up, configures and builds what it needs.
#   make demo   set up, build, run a load test against the embedded server, print the report
#   make test   set up, build, run every test (dev preset, then the flow tests under TSan)
#   make build | release | asan | test-tsan | fuzz | bench | format | format-check | clean
.PHONY: all setup build release test test-dev test-tsan asan fuzz demo bench format format-check clean

FUZZ_SECONDS ?= 60

all: build

setup:
	@scripts/setup

build: setup
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev

release: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release

test: test-dev test-tsan

test-dev: build
	@ctest --preset dev -j2

test-tsan: setup
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan
	@ctest --preset tsan -j2

asan: setup
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	@ctest --preset asan -j2

fuzz: setup
	@scripts/fuzz $(FUZZ_SECONDS)

demo: release
	@scripts/demo build/release/cli/hit

bench: release
	@bench/peers --setup
	@bench/peers --hit build/release/cli/hit

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

clean:
	@rm -rf build
