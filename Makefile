# Ghostwright: `make demo` and `make test` do all set-up they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck pytest setup model fim-model bench bench-models eval eval-infill fuzz clean

# llama.cpp's AMX matrix kernels die with SIGILL (`tilezero`) on x86 machines that report AMX
# here (a Xeon VM, Dec 2026), on the first prompt of more than a few tokens. Where the CPU reports
# AMX, llama-cpp-python is built for its AVX-512 features without AMX; elsewhere for the native
# CPU (llama.cpp's default). A CMAKE_ARGS of your own wins.
AMX_FREE_BUILD := -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
	-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON \
	-DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON
AMX_CPU := $(shell grep -qw amx_tile /proc/cpuinfo 2>/dev/null && echo yes)
ifeq ($(AMX_CPU),yes)
export CMAKE_ARGS ?= $(AMX_FREE_BUILD)
endif

# A virtual environment with Ghostwright (editable) and its dev tools. pip's wheel cache keeps
# the llama-cpp-python source build (minutes on 2 cores) from being repeated; a wheel cached by
# a build with AMX on such a machine is removed first (it would crash), once.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	@if [ "$(AMX_CPU)" = yes ] && [ "$(CMAKE_ARGS)" = "$(AMX_FREE_BUILD)" ] && \
		$(BIN)/python -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())" \
		| grep -q "AMX_INT8 = 1"; then \
		echo "llama-cpp-python was built with AMX (from pip's cache): rebuilding it without"; \
		$(BIN)/python -m pip cache remove llama_cpp_python; \
		$(BIN)/python -m pip install --force-reinstall --no-deps "llama-cpp-python==$$($(BIN)/python -c 'import llama_cpp; print(llama_cpp.__version__)')"; \
	fi
	touch $@

setup: $(STAMP)

# The embedded default model (SmolLM2-135M-Instruct Q4_1), into the per-user cache dir.
model: $(STAMP)
	$(BIN)/ghostwright model fetch

# The fill-in-the-middle code model the FIM tests and evals run (Qwen2.5-Coder-0.5B, 491 MB).
fim-model: $(STAMP)
	$(BIN)/ghostwright model fetch qwen2.5-coder-0.5b

demo: model
	$(BIN)/ghostwright demo

# ruff, and the import contract of pyproject.toml (the core's layers point down, no cycles, the
# core never imports the lab).
lint: $(STAMP)
	$(BIN)/ruff check server tests
	$(BIN)/ruff format --check server tests
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy server/ghostwright server/ghostwright_lab

pytest: model fim-model
	$(BIN)/pytest $(PYTEST_ARGS)

# Each editor client adds its own suite to EDITOR_TESTS in editors/<name>/editor.mk.
EDITOR_TESTS :=
include $(wildcard editors/*/editor.mk)

test: lint typecheck pytest $(EDITOR_TESTS)

# Replayed editing sessions: Ghostwright, the naive path, a stock llama_cpp.server and the
# model's own limit, 3 runs, size and context sweeps; writes bench/report.md (bench/README.md).
# Then the same contenders on the FIM code model (its naive path: the naive FIM integration),
# once, without sweeps: bench/qwen2.5-coder-0.5b/report.md.
FIM_BENCH_ARGS ?= --repeat 1 --sizes none --contexts none
bench: model fim-model
	$(BIN)/ghostwright bench $(BENCH_ARGS)
	$(BIN)/ghostwright bench --model qwen2.5-coder-0.5b --out bench/qwen2.5-coder-0.5b $(FIM_BENCH_ARGS)

# The default-model decision (README): Ghostwright alone on each registry model, the same
# traces, once each, one after the other on this machine: bench/models/<model>/report.md.
BENCH_MODELS := smollm2-135m-instruct-q4_1 qwen2.5-coder-0.5b qwen2.5-coder-1.5b
bench-models: model fim-model
	$(BIN)/ghostwright model fetch qwen2.5-coder-1.5b
	for name in $(BENCH_MODELS); do \
		$(BIN)/ghostwright bench --model $$name --no-naive --no-stock --repeat 1 --sizes none \
			--contexts none --out bench/models/$$name || exit 1; \
	done

# Suggestions vs. what the standard library's authors wrote, held-out packages (see README).
eval: model
	$(BIN)/ghostwright eval completion --naive $(EVAL_ARGS)

# Holes cut from real code (Python judged by its doctests, the C family by the line), filled by
# the FIM model through the server and through a naive FIM integration (see README).
eval-infill: fim-model
	$(BIN)/ghostwright eval infill --model qwen2.5-coder-0.5b $(EVAL_ARGS)

# Protocol fuzzing at full size: 12,000 raw LSP messages against the real server (make test
# runs the same test with 1,500).
fuzz: model
	FUZZ_MESSAGES=12000 $(BIN)/pytest tests/reliability/test_protocol_fuzz.py -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
