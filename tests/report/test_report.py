"""The HTML report: one self-contained file with every section and the run's stamp."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import project_params
from matplotlib.figure import Figure
from PIL import Image

from customer_segmentation.core.modeling.selection import verdict
from customer_segmentation.core.monitoring import drift
from customer_segmentation.kedro_io.datasets import FigureDataset
from customer_segmentation.report import RUN_STAMP
from customer_segmentation.report.report import FIGURES, SECTIONS, drift_section, quality_sentence


def _only_version(folder: Path) -> str:
    versions = sorted(p.name for p in folder.iterdir())
    assert len(versions) == 1, f"expected one saved version in {folder}, got {versions}"
    return versions[0]


def test_report_is_self_contained_with_every_section_and_the_run_stamp(demo_project: Path):
    folder = demo_project / "data" / "08_reporting" / "segmentation_report.html"
    stamp = _only_version(folder)
    text = (folder / stamp / "segmentation_report.html").read_text(encoding="utf-8")

    for anchor, title in SECTIONS:
        assert f'<section id="{anchor}">' in text, f"report lacks the section {title!r}"
    model_stamp = _only_version(demo_project / "data" / "07_model_output" / "model_card.json")
    assert f'id="run-stamp">{model_stamp}<' in text, (
        f"report stamp should be the model card's version {model_stamp}"
    )
    assert RUN_STAMP not in text, "the run-stamp placeholder was left in the report"
    images = re.findall(r'<img [^>]*src="([^"]*)"', text)
    assert len(images) == len(FIGURES), f"expected {len(FIGURES)} figures, found {len(images)}"
    assert all(src.startswith("data:image/png;base64,") for src in images), (
        "every figure must be embedded (viewable offline)"
    )
    assert "http://" not in text and "https://" not in text, "report links outside the file"
    for name in ("Affluent", ">action</th>", ">description</th>", "DBSCAN finds", "centres for"):
        assert name in text, f"report lacks {name!r}"
    assert "<title>Customer segmentation report: 6 segments</title>" in text
    assert "6 segments, numbered by mean total spending" in text


def _k_table(preferred: dict[int, str], chosen: int) -> pd.DataFrame:
    ks = [2, 3, 4, 5, 6]
    return pd.DataFrame(
        {
            "k": ks,
            "is_chosen": [k == chosen for k in ks],
            "chosen_by": ["parameter clustering.n_clusters" if k == chosen else "" for k in ks],
            "preferred_by": [preferred.get(k, "") for k in ks],
        }
    )


QUALITY = {
    "rows_in": 2240,
    "rows_clean": 2212,
    "rows_rejected": 28,
    "missing_income_policy": "drop",
    "date_order": "day_first",
}


def test_quality_sentence_says_how_a_file_or_a_database_table_was_read():
    file = quality_sentence(
        QUALITY
        | {"source": "customers.csv", "format": "text", "delimiter": "comma", "encoding": "utf-8"}
    )
    table = quality_sentence(
        QUALITY | {"source": "table customers in sqlite:///crm.db", "format": "database table"}
    )

    assert "2,240 rows read, 2,212 kept, 28 rejected" in file
    assert "read as comma-delimited text (utf-8), date order day_first" in file
    assert table.startswith("Source table customers in sqlite:///crm.db: 2,240 rows read")
    assert "read as a database table, date order day_first" in table


def test_verdict_says_plainly_when_criteria_disagree():
    table = _k_table({2: "silhouette, davies_bouldin", 5: "elbow", 6: "stability"}, chosen=6)

    agree, sentence = verdict(table)

    assert not agree, "criteria preferring 2, 5 and 6 do not agree"
    assert sentence.startswith("The criteria disagree"), sentence
    assert "k=2: silhouette, davies_bouldin" in sentence and "k=5: elbow" in sentence, sentence
    assert "only stability prefers it" in sentence, sentence
    assert "uses k=6 (chosen by the parameter clustering.n_clusters)" in sentence, sentence


def test_verdict_when_criteria_agree():
    table = _k_table({4: "elbow, silhouette, stability"}, chosen=4)

    agree, sentence = verdict(table)

    assert agree, sentence
    assert "prefer the chosen k=4" in sentence, sentence


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_figures_are_saved_with_the_pixels_savefig_draws(tmp_path: Path):
    """FigureDataset draws a figure once; the PNG must still be what savefig writes."""
    figure = Figure(figsize=(5, 3), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.scatter([1, 2, 3], [3, 1, 2], c=[0, 1, 2], cmap="tab10")
    left.set(title="A rather long title that constrained layout has to fit", ylabel="Income")
    right.barh(["Store-Loyal Spenders", "Online Spenders"], [3, 5])
    figure.suptitle("Segments")
    expected = io.BytesIO()
    figure.savefig(expected, format="png", dpi=90)
    dataset = FigureDataset(filepath=str(tmp_path / "figure.png"), save_args={"dpi": 90})

    canvas = figure.canvas
    dataset.save(figure)

    saved = dataset.load()
    assert _pixels(saved).shape == _pixels(expected.getvalue()).shape == (270, 450, 4)
    assert np.array_equal(_pixels(saved), _pixels(expected.getvalue())), (
        "the saved PNG differs from savefig's"
    )
    assert Image.open(io.BytesIO(saved)).info["dpi"] == pytest.approx((90, 90), abs=0.01)
    assert figure.canvas is canvas and figure.dpi == 100, "saving changed the figure"


def test_the_drift_section_uses_the_reports_tables_and_escapes_everything() -> None:
    training = pd.DataFrame({"<b>x</b>": list(range(20)), "segment": [0, 1] * 10, "ID": range(20)})
    new = training.assign(**{"<b>x</b>": training["<b>x</b>"] + 5})
    previous = training[["ID"]].assign(previous_segment=[1, 0] * 10)
    reference = drift.drift_reference(training, ["<b>x</b>"], 4, 20, 0)
    found = drift.drift_report(
        reference, new, project_params()["monitoring"].drift, previous=previous
    )
    html = drift_section(found)
    assert html.startswith('<section class="drift">')
    assert html.rstrip().endswith("</section>")
    assert "<b>" not in html, "a value was not escaped"
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "Cramér&#39;s V" in html
    assert html.count("<table>") == 3, "features, segment shares, moves"
    assert "20 of 20 returning customers changed segment" in html
    assert html.count("<table>") == html.count("<thead><tr><th class="), "the report's tables"
