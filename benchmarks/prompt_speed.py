"""What bounds TTFT: prompt-evaluation and decode speed of a GGUF model in llama-cpp-python alone.

Best-first reading evaluates ~200–250 new tokens (passage [1] and the question) before the first
answer token, so prompt evaluation speed sets the TTFT floor. ``--requantize q4_0`` first re-quantises
the file with llama.cpp's own quantizer (Q4_0 weights are repacked for AVX2 at load time) and measures
that copy too (BENCHMARKS "Why TTFT stays above 1.5 s").

``--prefix N`` first evaluates N tokens that stay in the KV cache (the rules and worked examples
that every prompt shares), so the timed tokens are a first pass's new tokens, attending to them.
``--flash-attn`` and ``--kv-type q8_0|bf16|f32`` measure llama.cpp's flash attention and other KV
cache types. ``--requantize q4_1`` is what ``requantize = "auto"`` runs on an AMX build.

Run: .venv/bin/python benchmarks/prompt_speed.py ~/.local/share/petitrag/models/qwen2.5-coder-1.5b.gguf \
       --requantize q4_0
     .venv/bin/python benchmarks/prompt_speed.py MODEL --prefix 560 --tokens 220 --repeats 5 [--flash-attn]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from petitrag.demo import sample_corpus
from petitrag.generation.llama_cpp import import_llama_cpp
from petitrag.generation.requantize import TARGETS, convert


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=300, help="Prompt length to evaluate.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--requantize", choices=sorted(TARGETS), help="Also measure a re-quantised copy.")
    parser.add_argument("--prefix", type=int, default=0, help="Tokens already in the KV cache, untimed.")
    parser.add_argument("--flash-attn", action="store_true", help="llama.cpp's flash attention.")
    kv_types = ["f16", "bf16", "f32", "q8_0"]
    parser.add_argument("--kv-type", choices=kv_types, default="f16", help="KV cache type.")
    args = parser.parse_args()
    measure(args.model, args)
    if args.requantize:
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / f"{args.model.stem}-{args.requantize}.gguf"
            started = time.perf_counter()
            convert(args.model, copy, args.requantize, args.threads)
            print(f"re-quantised to {args.requantize} in {time.perf_counter() - started:.1f} s")
            measure(copy, args)


def measure(path: Path, args: argparse.Namespace) -> None:
    llama_cpp = import_llama_cpp()
    kv_type = {"f16": None, "bf16": 30, "f32": llama_cpp.GGML_TYPE_F32, "q8_0": llama_cpp.GGML_TYPE_Q8_0}[
        args.kv_type
    ]  # 30: GGML_TYPE_BF16
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads, verbose=False,
        flash_attn=args.flash_attn, type_k=kv_type, type_v=kv_type,
    )  # fmt: skip
    files = sorted([*sample_corpus().glob("*.md"), *sample_corpus().glob("*.txt")])
    text = "\n\n".join(file.read_text() for file in files) * 4  # French prose, long enough
    every = llm.tokenize(text.encode())
    prefix, tokens = every[: args.prefix], every[args.prefix : args.prefix + args.tokens]
    flash = "on" if args.flash_attn else "off"
    print(
        f"{path.name}: {path.stat().st_size / 1e6:.0f} MB · flash attention {flash}"
        f" · KV {args.kv_type} · prefix {len(prefix)} tokens"
    )
    for _ in range(args.repeats):
        llm.reset()
        if prefix:
            llm.eval(prefix)
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


if __name__ == "__main__":
    main()
