"""Uploaded files are scored in worker processes, a bounded number at a time.

Scoring the largest upload (50 MB, half a million customers) takes seconds and several hundred
MB; done in the Streamlit server's own process, two at once would double that memory and hold
the interpreter's lock, so every other session's prediction would wait. Here each upload goes
to a pool of ``app.upload_workers`` processes (``conf/base/parameters_app.yml``): memory is
bounded by the pool, further uploads queue, and the server's threads keep answering.

The work is ``serving.score.score_upload``, the same function the tests call in-process; only where
it runs changes. Its size check runs here first, so an oversized file never reaches a worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from customer_segmentation.params import DataProcessingParams
from customer_segmentation.serving import score
from customer_segmentation.serving.versions import ModelBundle

logger = logging.getLogger(__name__)

_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0
_POOL_LOCK = threading.Lock()


class UploadWorkerError(RuntimeError):
    """The worker scoring an upload stopped (e.g. killed for want of memory)."""


def _pool(workers: int) -> ProcessPoolExecutor:
    """The process's pool of ``workers`` (started on first use; spawned, not forked, as the
    server has threads).
    """
    global _POOL, _POOL_WORKERS
    with _POOL_LOCK:
        if _POOL is None or workers != _POOL_WORKERS:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            context = multiprocessing.get_context("spawn")
            _POOL, _POOL_WORKERS = ProcessPoolExecutor(workers, mp_context=context), workers
            logger.info("Upload workers started: %d process(es)", workers)
        return _POOL


def _discard(pool: ProcessPoolExecutor) -> None:
    global _POOL  # noqa: PLW0603
    with _POOL_LOCK:
        if _POOL is pool:
            _POOL = None
    pool.shutdown(wait=False)


def score_upload(
    content: bytes,
    name: str,
    bundle: ModelBundle,
    data_params: DataProcessingParams,
    max_megabytes: float,
    workers: int,
) -> score.ScoredUpload:
    """``score.score_upload`` in one of ``workers`` worker processes; waits for its turn.

    Raises:
        UploadTooLargeError, CustomerDataError: as ``score.score_upload``.
        UploadWorkerError: the worker stopped before it finished (the pool is restarted).
    """
    score.check_upload_size(len(content), max_megabytes, name)
    pool = _pool(workers)
    try:
        return pool.submit(
            score.score_upload, content, name, bundle, data_params, max_megabytes
        ).result()
    except BrokenProcessPool as error:
        _discard(pool)
        raise UploadWorkerError(
            f"scoring {name} stopped before it finished (the worker process ended, for "
            "example for want of memory); try again, or score it with `kedro run --params "
            "raw_customers_path=PATH`"
        ) from error
