"""Figures drawn in a worker process during a run (``figure_workers``): the same PNG as drawn
in the run's process, waited for when loaded, and failures named by their file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError, Version
from matplotlib.figure import Figure

from customer_segmentation.kedro_io import figure_workers
from customer_segmentation.kedro_io.datasets import FigureDataset
from customer_segmentation.kedro_io.figure_workers import (
    FigureDrawingError,
    FigureNotSentWarning,
    FigureWorkers,
    png,
)


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch):
    """The pool FigureDataset uses, opened with one worker, closed after the test."""
    pool = FigureWorkers()
    monkeypatch.setattr(figure_workers, "WORKERS", pool)
    pool.open(1)
    yield pool
    pool.close()


def _figure() -> Figure:
    figure = Figure(figsize=(6, 3), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.scatter(*np.random.default_rng(0).normal(size=(2, 200)), s=4)
    left.set(title="A long title that constrained layout has to fit", xlabel="Income")
    right.barh(["Store-Loyal Spenders", "Online Spenders"], [3, 5])
    right.xaxis.set_major_formatter("{x:.0%}")
    return figure


def test_a_worker_draws_the_pixels_this_process_draws(workers: FigureWorkers, tmp_path: Path):
    figure = _figure()
    expected = png(figure, dpi=80)
    dataset = FigureDataset(filepath=str(tmp_path / "figure.png"), save_args={"dpi": 80})

    dataset.save(figure)

    assert workers._executor is not None, "the figure was not handed to a worker"
    assert dataset.load() == expected, "the worker's PNG differs from this process's"


def test_a_worker_yields_the_cpu_to_the_run(workers: FigureWorkers, tmp_path: Path):
    FigureDataset(filepath=str(tmp_path / "figure.png"), save_args={"dpi": 40}).save(_figure())

    niceness = workers._executor.submit(os.nice, 0).result()

    assert niceness == figure_workers.WORKER_NICENESS == 19


def test_closing_waits_for_every_figure(workers: FigureWorkers, tmp_path: Path):
    paths = [tmp_path / f"figure_{i}.png" for i in range(3)]
    for path in paths:
        FigureDataset(filepath=str(path), save_args={"dpi": 60}).save(_figure())

    workers.close()

    assert all(path.stat().st_size > 0 for path in paths), "close returned before the writes"
    assert not workers.active, "closed workers must leave drawing to this process"


def test_a_figure_that_cannot_be_drawn_is_named(workers: FigureWorkers, tmp_path: Path):
    figure = Figure()
    figure.subplots().set_title(r"$\frac{unclosed$")  # mathtext fails when drawn, not before
    path = tmp_path / "broken.png"
    FigureDataset(filepath=str(path), save_args={"dpi": 60}).save(figure)

    with pytest.raises(FigureDrawingError, match=r"broken\.png could not be drawn"):
        workers.close()
    assert not path.exists(), "a figure that failed must not leave a file"


def test_loading_a_failed_figure_names_it(workers: FigureWorkers, tmp_path: Path):
    figure = Figure()
    figure.subplots().set_xlabel(r"$\frac{unclosed$")
    dataset = FigureDataset(filepath=str(tmp_path / "broken.png"), save_args={"dpi": 60})
    dataset.save(figure)

    with pytest.raises(DatasetError, match=r"broken\.png could not be drawn"):
        dataset.load()


def test_a_figure_that_cannot_be_pickled_is_drawn_here(workers: FigureWorkers, tmp_path: Path):
    figure = _figure()
    figure.axes[0].xaxis.set_major_formatter(lambda x, _: f"{x:g}")  # a lambda does not pickle
    expected = png(figure, dpi=60)
    path = tmp_path / "local.png"

    with pytest.warns(FigureNotSentWarning, match=r"local\.png is drawn in the run's own"):
        FigureDataset(filepath=str(path), save_args={"dpi": 60}).save(figure)

    assert path.read_bytes() == expected
    assert workers._executor is None, "no worker should have started for this figure"


def test_a_dataset_loading_the_newest_version_draws_at_once(workers: FigureWorkers, tmp_path):
    """Its load looks for the newest version on disk: a figure still being drawn would be
    missed, so it is not handed to a worker.
    """
    dataset = FigureDataset(
        filepath=str(tmp_path / "newest.png"), save_args={"dpi": 60}, version=Version(None, None)
    )

    dataset.save(_figure())

    assert workers._executor is None, "no worker should have started for this figure"
    assert dataset.load()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outside_a_run_figures_are_drawn_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setattr(figure_workers, "WORKERS", FigureWorkers())
    path = tmp_path / "now.png"

    FigureDataset(filepath=str(path), save_args={"dpi": 60}).save(_figure())

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_workers_cannot_be_negative():
    with pytest.raises(ValueError, match="0 or more, not -1"):
        FigureWorkers().open(-1)
