# ingot — the two commands a user needs:
#   make demo   set up, build, and run the bundled digits model
#   make test   set up, build (normal + ASan/UBSan), and run every test
# Set-up installs missing Debian packages when run as root; otherwise it prints the exact
# apt-get line and stops.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
SHARED     ?= $(abspath ../shared)
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 60

DEB_PKGS  = cmake make gcc pkg-config libprotobuf-c-dev protobuf-c-compiler libopenblas-openmp-dev libxxhash-dev time
FUZZ_PKGS = clang libclang-rt-14-dev libomp-dev

.PHONY: all deps build asan tsan demo test conformance fuzz clean resnet50 bench-deps

all: build

deps:
	@sh tools/setup-deps.sh $(DEB_PKGS)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DINGOT_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DINGOT_SANITIZE=ON -DINGOT_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

# Many contexts on one engine in many threads, under ThreadSanitizer (CPU backend; OpenMP
# single-threaded there, since libgomp is not instrumented).
tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINGOT_TSAN=ON -DINGOT_CUDA=OFF -DINGOT_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(TSAN_BUILD) -j$(JOBS) --target test_threads test_io
	@cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -L tsan

demo: build
	@./$(BUILD)/ingot demo --model models/digits_cnn --engine $(BUILD)/digits.engine

# Every test on the Release build, then the unit, corrupt-file and model tests under ASan+UBSan.
test: build asan tsan resnet50 bench-deps
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS) -L sanitize

# ResNet-50 (random weights) for the optimizer's step-count test; needs python3 with onnx+numpy.
resnet50: $(BUILD)/resnet50.onnx
$(BUILD)/resnet50.onnx: bench/models/resnet50.py
	@mkdir -p $(BUILD)
	@python3 -c "import onnx, numpy" 2>/dev/null || python3 -m pip install -q onnx numpy
	@python3 bench/models/resnet50.py --out $@

# ONNX Runtime for the CPU benchmark test (bench_cpu_vs_ort); offline, that test skips instead.
bench-deps:
	@python3 -c "import onnxruntime, onnx" 2>/dev/null || python3 -m pip install -q onnxruntime onnx 2>/dev/null || \
		echo "note: could not pip-install onnxruntime; the bench_cpu_vs_ort test will skip"

conformance: build
	@./$(BUILD)/ingot conformance $(SHARED)/onnx-node --expected tests/conformance/expected-cpu.txt

fuzz:
	@sh tools/setup-deps.sh $(DEB_PKGS) $(FUZZ_PKGS)
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DINGOT_FUZZ=ON -DINGOT_CUDA=OFF -DINGOT_SHARED_DIR=$(SHARED) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_onnx fuzz_engine
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(SHARED)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
