"""Figures drawn as PNG in a worker process while the run goes on.

Drawing a figure (layout, text, rasterising) is single-threaded Python work: about 0.4 s a
figure, 5 s for the 14 figures of a run on the real table, a quarter of the whole run
(issue 17). The machines this project runs on have at least two cores, and the run itself is
single-threaded most of the time. So during a ``kedro run`` a :class:`datasets.FigureDataset`
hands each figure, pickled, to a worker process that draws it and returns the PNG bytes; the
bytes are written under the dataset's versioned path as soon as they arrive. The pixels are
those the run's own process would draw (``tests/test_figure_workers.py``).

* :data:`WORKERS` is the run's pool. :class:`FigureWorkersHook` opens it before a run with
  ``reporting.figure_workers`` processes (``0``: figures are drawn in the run's process, as
  outside a run) and closes it after the run, once every figure is written; a figure that
  could not be drawn fails the run, naming its file.
* Loading a figure that is still being drawn waits for it (:meth:`FigureWorkers.wait`): the
  report embeds every figure of the run.
* A figure that cannot be pickled is drawn in the run's process, with a warning naming its file
  (:class:`FigureNotSentWarning`).

``kedro viz build`` builds the datasets and must stay light: matplotlib is imported only where a
figure is drawn.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class FigureDrawingError(RuntimeError):
    """A figure handed to the figure workers could not be drawn or written."""


class FigureNotSentWarning(UserWarning):
    """A figure could not be pickled for a worker and is drawn in the run's own process
    (slower, same pixels). The test suite turns it into an error (``pyproject.toml``).
    """


def png(figure: Any, dpi: float) -> bytes:
    """PNG bytes of a matplotlib figure at ``dpi``.

    The pixels are those of ``figure.savefig(format="png", dpi=dpi)``
    (``tests/test_report.py``), but the figure is drawn once: ``savefig`` draws a figure
    with a layout engine (constrained layout) a first time without rendering, then again.
    """
    import matplotlib  # noqa: PLC0415 - only a figure being drawn needs it
    import numpy as np  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415
    from PIL.PngImagePlugin import PngInfo  # noqa: PLC0415

    dpi_before, canvas_before = figure.dpi, figure.canvas
    canvas = FigureCanvasAgg(figure)
    figure.set_dpi(dpi)
    try:
        canvas.draw()
        pixels = Image.fromarray(np.asarray(canvas.buffer_rgba()))
    finally:  # as savefig: the figure keeps its own dpi and canvas
        figure.set_dpi(dpi_before)
        figure.set_canvas(canvas_before)
    info = PngInfo()
    info.add_text(
        "Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"
    )
    buffer = io.BytesIO()
    pixels.save(buffer, format="png", dpi=(dpi, dpi), pnginfo=info)
    return buffer.getvalue()


def _draw(pickled: bytes, dpi: float) -> bytes:
    """In a worker: the PNG of a pickled figure."""
    return png(pickle.loads(pickled), dpi)


# A worker's scheduling priority (Unix nice value, 0-19): the lowest, so that it draws on a core
# the run leaves idle and never slows the run's own threads (Polars, K-Means) where they use
# every core. Measured at 1M rows (benchmarks/run.py): at the run's priority the worker took
# back what it saved (kedro run 40.4 s; select_k 4.9 s, the stability bootstrap 3.6 s, t-SNE
# 2.7 s); at the lowest, 37.0 s (4.0, 3.3 and 2.6 s).
WORKER_NICENESS = 19


def _start_worker() -> None:
    """In a worker, when it starts: yield the CPU to the run, and import what drawing needs
    before the first figure.
    """
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS - os.nice(0))
    import matplotlib.backends.backend_agg  # noqa: PLC0415
    import matplotlib.figure  # noqa: F401, PLC0415
    import PIL.PngImagePlugin  # noqa: F401, PLC0415


@dataclass
class _Pending:
    """A figure handed to a worker: set once its file is written or its error is known."""

    written: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class FigureWorkers:
    """Worker processes drawing figures for the datasets that save them (see the module)."""

    def __init__(self) -> None:
        self._workers = 0
        self._executor: ProcessPoolExecutor | None = None
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether figures saved now go to worker processes."""
        return self._workers > 0

    def open(self, workers: int) -> None:
        """Draw the figures saved from now on in ``workers`` processes (``0``: in this one).
        The processes start with the first figure.
        """
        if workers < 0:
            raise ValueError(f"figure workers must be 0 or more, not {workers}")
        self.close()
        self._workers = workers

    def submit(self, path: str, figure: Any, dpi: float, write: Callable[[bytes], None]) -> bool:
        """Have a worker draw ``figure`` at ``dpi`` and pass the PNG bytes to ``write``
        (the file at ``path``). ``False`` when the figure must be drawn here instead: no workers
        are open, or the figure cannot be pickled (a warning names ``path``).
        """
        if not self.active:
            return False
        try:
            pickled = pickle.dumps(figure, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            warnings.warn(
                f"{path} is drawn in the run's own process: its figure cannot be pickled for a "
                f"figure worker ({error})",
                FigureNotSentWarning,
                stacklevel=2,
            )
            return False
        self.wait(path)  # a second save of the same file replaces the first, in order
        pending = _Pending()
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self._workers, mp_context=get_context("spawn"), initializer=_start_worker
                )
            self._pending[path] = pending
            future = self._executor.submit(_draw, pickled, dpi)
        future.add_done_callback(lambda done: self._write(done, write, pending))
        return True

    @staticmethod
    def _write(done: Future, write: Callable[[bytes], None], pending: _Pending) -> None:
        """When a worker is done: write the PNG, or keep the error for :meth:`wait`."""
        try:
            write(done.result())
        except BaseException as error:
            pending.error = error
        finally:
            pending.written.set()

    def wait(self, path: str) -> None:
        """Return once the figure for ``path`` (if one is being drawn) is written.

        Raises:
            FigureDrawingError: it could not be drawn or written; the message names ``path``.
        """
        with self._lock:
            pending = self._pending.get(path)
        if pending is None:
            return
        pending.written.wait()
        with self._lock:
            if self._pending.get(path) is pending:
                del self._pending[path]
        if pending.error is not None:
            raise FigureDrawingError(
                f"the figure for {path} could not be drawn or written: "
                f"{type(pending.error).__name__}: {pending.error}"
            ) from pending.error

    def close(self) -> None:
        """Wait for every figure still being drawn, stop the workers and draw in this process
        from now on.

        Raises:
            FigureDrawingError: some figures could not be drawn or written; the message names
                each file.
        """
        failures = []
        with self._lock:
            paths = list(self._pending)
        try:
            for path in paths:
                try:
                    self.wait(path)
                except FigureDrawingError as error:
                    failures.append(error)
        finally:
            with self._lock:
                executor, self._executor, self._workers = self._executor, None, 0
                self._pending.clear()
            if executor is not None:
                executor.shutdown(wait=True)
        if failures:
            raise FigureDrawingError("; ".join(str(f) for f in failures)) from failures[0]


# The run's figure workers: opened and closed by FigureWorkersHook, used by FigureDataset.
WORKERS = FigureWorkers()


class FigureWorkersHook:
    """Opens :data:`WORKERS` with ``reporting.figure_workers`` processes before a run and
    closes it after the run, when every figure is written.
    """

    @hook_impl
    def before_pipeline_run(self, catalog: Any) -> None:
        """Figures saved by this run go to the workers (none: drawn in the run's process)."""
        from customer_segmentation.params import ReportingParams, as_model  # noqa: PLC0415

        reporting = as_model(ReportingParams.KEY, catalog.load(f"params:{ReportingParams.KEY}"))
        WORKERS.open(reporting.figure_workers)

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Every figure is written before the run ends; one that was not fails the run."""
        WORKERS.close()

    @hook_impl
    def on_pipeline_error(self) -> None:
        """Write the figures already drawn; the run's own error is the one reported."""
        try:
            WORKERS.close()
        except FigureDrawingError as error:
            logger.error("%s", error)
