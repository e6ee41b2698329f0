"""How many threads the project's scikit-learn, SciPy and NumPy work runs on: one home for it.

Two native thread pools do the heavy lifting: scikit-learn's OpenMP (K-Means, t-SNE, the
neighbour searches of DBSCAN) and OpenBLAS (matrix products: the silhouette's, PCA's,
k-means++'s). Each would start one thread per core for any work, however small. On a 2-core
machine with another job on one core that goes wrong twice (issue 17, measured in
``benchmarks/README.md``): the threads of a parallel region wait for the one that shares its core
with the other job, and the OpenBLAS and OpenMP pools run at once and fight for the cores
(scikit-learn issue #17334).

:func:`sized_threads` gives each call site the threads its work needs: one thread below
:data:`VALUES_PER_THREAD` values (rows x features) per thread, at most one per core this process
may run on (``os.sched_getaffinity``), never more than the pool already had (a user's
``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``, or an enclosing limit, wins). BLAS is held to
one thread while OpenMP works (the pools' fight), and OpenMP to one while BLAS works.

That threads waiting in a parallel region sleep instead of spinning is set once per process,
before the OpenMP runtime starts: ``OMP_WAIT_POLICY=PASSIVE`` in ``customer_segmentation``'s
``__init__`` (:func:`customer_segmentation.wait_passively`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Literal

# Imported here so that their thread pools are loaded when the controller first looks for them:
# NumPy's OpenBLAS, SciPy's OpenBLAS, scikit-learn's OpenMP runtime.
import numpy  # noqa: F401
import scipy.linalg  # noqa: F401
import sklearn  # noqa: F401
from threadpoolctl import ThreadpoolController

logger = logging.getLogger(__name__)

# Values of work (rows x features) per thread: below twice this, one thread. Measured on the
# 2-core machine of ``benchmarks/README.md`` ("Steady under load"), one thread against two, both
# waiting passively, medians of three: K-Means (k=6, 10 starts) on 2,000-10,000 x 7 values
# 24-58 ms on one thread, 28-63 ms on two; on 20,000-200,000 rows about even (other jobs held
# part of the second core); t-SNE on 1,000 x 7 2.1 s against 2.2 s; the silhouette's products
# on 5,000 rows 0.57 s against 0.76 s; DBSCAN's all-pairs searches on 5,000 rows (25 million
# distances) 0.94 s on two threads against 1.01 s.
VALUES_PER_THREAD = 100_000

Pool = Literal["openmp", "blas"]


@cache
def thread_pools() -> ThreadpoolController:
    """The process's thread pools, found once (finding them searches the loaded libraries)."""
    return ThreadpoolController()


def cores_available() -> int:
    """Cores this process may run on (its CPU affinity; all cores where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def threads_for(rows: int, features: int, cores: int | None = None) -> int:
    """Threads for work on ``rows`` x ``features`` values: one per :data:`VALUES_PER_THREAD`,
    at least one, at most ``cores`` (default :func:`cores_available`).
    """
    cores = cores_available() if cores is None else cores
    return int(max(1, min(cores, (int(rows) * int(features)) // VALUES_PER_THREAD)))


def _current(pool: Pool) -> int:
    """The most threads the libraries of ``pool`` now use (1 if none is loaded)."""
    found = [lib["num_threads"] for lib in thread_pools().select(user_api=pool).info()]
    return max(found, default=1)


@contextmanager
def sized_threads(rows: int, features: int, pool: Pool = "openmp") -> Iterator[int]:
    """Within the block, ``pool`` gets :func:`threads_for` ``(rows, features)`` threads (never
    more than it has now) and the other pool one thread.

    Args:
        rows: the rows of the work (after sampling).
        features: its columns.
        pool: the pool the work runs on: ``openmp`` (scikit-learn's K-Means, t-SNE, neighbour
            searches) or ``blas`` (NumPy's matrix products: the silhouette, PCA).

    Yields:
        The threads ``pool`` has within the block.
    """
    threads = min(threads_for(rows, features), _current(pool))
    other: Pool = "blas" if pool == "openmp" else "openmp"
    logger.debug("%d %s thread(s) for %d x %d values", threads, pool, rows, features)
    with thread_pools().limit(limits={pool: threads, other: 1}):
        yield threads
