"""``modeling.threads``: threads sized to the work, OpenMP threads that wait passively."""

from __future__ import annotations

import os
import subprocess
import sys

from threadpoolctl import threadpool_info, threadpool_limits

from customer_segmentation import OPENMP_WAIT_SETTINGS
from customer_segmentation.core.modeling import threads

# Four points on a line, two obvious pairs: every criterion can be worked out by hand.
# --------------------------------------------------------------------------------------
# Threads sized to the work (modeling.threads), OpenMP threads that sleep while they wait
# --------------------------------------------------------------------------------------


def _threads(pool: str) -> int:
    return max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == pool)


def test_threads_for_small_work_is_one_and_large_work_at_most_the_cores():
    assert threads.threads_for(2_212, 7, cores=2) == 1, "a few thousand rows got threads"
    assert threads.threads_for(1_000, 7, cores=8) == 1, "t-SNE's thousand rows got threads"
    assert threads.threads_for(50_000, 7, cores=2) == 2, "the 50,000-row sweep got one thread"
    assert threads.threads_for(10**7, 7, cores=4) == 4, "more threads than cores"
    assert threads.threads_for(10**7, 7, cores=1) == 1, "more threads than the one core"
    assert 1 <= threads.threads_for(10**7, 7) <= threads.cores_available()


def test_sized_threads_limits_the_pool_and_restores_it():
    before = {pool: _threads(pool) for pool in ("openmp", "blas")}
    with threads.sized_threads(1_000, 7) as used:
        assert used == 1, f"{used} threads for 1,000 x 7 values"
        assert _threads("openmp") == 1, "OpenMP was not held to one thread for small work"
        assert _threads("blas") == 1, "BLAS was not held to one thread beside OpenMP"
    with threads.sized_threads(10**7, 7, pool="blas") as used:
        assert used == min(threads.cores_available(), before["blas"]), used
        assert _threads("openmp") == 1, "OpenMP was not held to one thread beside BLAS"
    after = {pool: _threads(pool) for pool in ("openmp", "blas")}
    assert after == before, f"thread pools not restored: {before} -> {after}"


def test_sized_threads_never_raises_an_enclosing_limit():
    with threadpool_limits(limits=1, user_api="openmp"), threads.sized_threads(10**7, 7) as used:
        assert used == 1, "sized_threads raised the user's (or a caller's) OpenMP limit"
        assert _threads("openmp") == 1


def _fresh_python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in OPENMP_WAIT_SETTINGS}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_package_makes_openmp_threads_wait_passively_before_scikit_learn_loads():
    code = (
        "import sys, os, customer_segmentation; "
        "print(os.environ.get('OMP_WAIT_POLICY'), 'sklearn' in sys.modules)"
    )
    assert _fresh_python(code) == "PASSIVE False", (
        "importing the package did not set OMP_WAIT_POLICY=PASSIVE before scikit-learn loads"
    )
    assert _fresh_python(code, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE False", (
        "the user's OMP_WAIT_POLICY was overridden"
    )
    assert _fresh_python(code, GOMP_SPINCOUNT="1000") == "None False", (
        "a wait policy was set although the user chose GOMP_SPINCOUNT"
    )
