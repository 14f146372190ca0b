"""What bounds TTFT: prompt-evaluation and decode speed of a GGUF model in llama-cpp-python alone.

Best-first reading evaluates ~200–250 new tokens (passage [1] and the question) before the first
answer token, so prompt evaluation speed sets the TTFT floor. ``--requantize q4_0`` first re-quantises
the file with llama.cpp's own quantizer (Q4_0 weights are repacked for AVX2 at load time) and measures
that copy too (BENCHMARKS "Why TTFT stays above 1.5 s").

Run: .venv/bin/python benchmarks/prompt_speed.py ~/.local/share/petitrag/models/qwen2.5-coder-1.5b.gguf \
       --requantize q4_0
"""

from __future__ import annotations

import argparse
import ctypes
import tempfile
import time
from pathlib import Path

from petitrag.demo import sample_corpus
from petitrag.generation.llama_cpp import import_llama_cpp

FILE_TYPES = {"q4_0": 2, "q8_0": 7, "q4_k_m": 15}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=300, help="Prompt length to evaluate.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--requantize", choices=sorted(FILE_TYPES), help="Also measure a re-quantised copy.")
    args = parser.parse_args()
    measure(args.model, args)
    if args.requantize:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / f"{args.model.stem}-{args.requantize}.gguf"
            started = time.perf_counter()
            requantize(args.model, copy, FILE_TYPES[args.requantize], args.threads)
            print(f"re-quantised to {args.requantize} in {time.perf_counter() - started:.1f} s")
            measure(copy, args)


def measure(path: Path, args: argparse.Namespace) -> None:
    llama_cpp = import_llama_cpp()
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads, verbose=False
    )
    files = sorted([*sample_corpus().glob("*.md"), *sample_corpus().glob("*.txt")])
    text = "\n\n".join(file.read_text() for file in files) * 4  # French prose, long enough
    tokens = llm.tokenize(text.encode())[: args.tokens]
    print(f"{path.name}: {path.stat().st_size / 1e6:.0f} MB")
    for _ in range(args.repeats):
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens)
        seconds = time.perf_counter() - started
        print(f"  prompt {len(tokens)} tokens: {len(tokens) / seconds:.1f} tok/s ({seconds:.2f} s)")
    decoded, first = 0, 0.0
    for _ in llm.generate(tokens[:50], temp=0.0, reset=True):
        decoded += 1
        if decoded == 1:
            first = time.perf_counter()
        if decoded > 40:
            break
    print(f"  decode: {(decoded - 1) / (time.perf_counter() - first):.1f} tok/s")
    llm.close()


def requantize(source: Path, target: Path, file_type: int, threads: int) -> None:
    llama_cpp = import_llama_cpp()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = file_type, True, threads
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)):
        raise SystemExit(f"llama.cpp could not re-quantise {source}")


if __name__ == "__main__":
    main()
