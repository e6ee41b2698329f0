"""The self-contained HTML segmentation report, and the two datasets that carry it.

* :class:`FigureDataset` saves a matplotlib figure as PNG (versioned like
  ``matplotlib.MatplotlibDataset``, so ``kedro viz`` previews it) and loads the PNG bytes back,
  so the report node can embed figures other nodes made.
* :class:`HtmlReportDataset` saves the report text and writes the run's save version (the
  stamp every versioned dataset of the run shares, among them ``model_card``,
  ``kmeans_model`` and ``scaler``) where the report holds :data:`RUN_STAMP`. Nodes cannot know
  the save version; the dataset does.
* The ``render_*`` and ``html_*`` functions are pure: data in, HTML text out.
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from kedro.io.core import get_filepath_str
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.text import TextDataset
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from PIL.PngImagePlugin import PngInfo

RUN_STAMP = "@@RUN_STAMP@@"
UNVERSIONED = "unversioned"

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:3px solid #1f77b4}h2{border-bottom:1px solid #ccc;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:1em 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;vertical-align:top}
th{background:#f3f6fa}td.text,th.text{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:.5em 1em}
.ok{background:#e8f5e9;border-left:4px solid #43a047;padding:.5em 1em}
nav a{margin-right:1em}pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.8em}
"""


class FigureDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` that can also be loaded: returns the PNG bytes.

    A PNG whose only save argument is ``dpi`` is drawn once (:func:`png`), not twice.
    """

    def _save_to_fs(self, full_key_path: str, plot: Figure) -> None:
        """Write ``plot`` as :func:`png` draws it, or by ``savefig`` for other save arguments."""
        if set(self._save_args) != {"dpi"} or not full_key_path.lower().endswith(".png"):
            super()._save_to_fs(full_key_path, plot)
            return
        data = png(plot, dpi=self._save_args["dpi"])
        with self._fs.open(full_key_path, **self._fs_open_args_save) as file:
            file.write(data)

    def load(self) -> bytes:  # type: ignore[override]
        """The saved image's bytes (the version asked for, or the latest)."""
        load_path = get_filepath_str(self._get_load_path(), self._protocol)
        with self._fs.open(load_path, mode="rb") as file:
            return file.read()


class HtmlReportDataset(TextDataset):
    """``text.TextDataset`` that replaces :data:`RUN_STAMP` by the run's save version."""

    def save(self, data: str) -> None:
        """Write ``data`` with the stamp filled in (``unversioned`` when not versioned)."""
        stamp = self.resolve_save_version() if self._version is not None else None
        save_path = get_filepath_str(self._get_save_path(), self._protocol)
        with self._fs.open(save_path, **self._fs_open_args_save) as file:
            file.write(data.replace(RUN_STAMP, stamp or UNVERSIONED))
        self._invalidate_cache()


def png(image: bytes | Figure, dpi: float = 100) -> bytes:
    """PNG bytes of a figure at ``dpi`` (bytes pass through).

    The pixels are those of ``image.savefig(format="png", dpi=dpi)``
    (``tests/test_report.py``), but the figure is drawn once: ``savefig`` draws a figure
    with a layout engine (constrained layout) a first time without rendering, then again.
    """
    if isinstance(image, bytes):
        return image
    dpi_before, canvas_before = image.dpi, image.canvas
    canvas = FigureCanvasAgg(image)
    image.set_dpi(dpi)
    try:
        canvas.draw()
        pixels = Image.fromarray(np.asarray(canvas.buffer_rgba()))
    finally:  # as savefig: the figure keeps its own dpi and canvas
        image.set_dpi(dpi_before)
        image.set_canvas(canvas_before)
    info = PngInfo()
    info.add_text(
        "Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"
    )
    buffer = io.BytesIO()
    pixels.save(buffer, format="png", dpi=(dpi, dpi), pnginfo=info)
    return buffer.getvalue()


def html_image(image: bytes | Figure, alt: str) -> str:
    """An ``<img>`` with the PNG embedded as base64 (viewable offline)."""
    data = base64.b64encode(png(image)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def html_table(table: pd.DataFrame, digits: int = 3, text_columns: tuple[str, ...] = ()) -> str:
    """A compact HTML table; floats rounded to ``digits``, text columns left-aligned."""
    head = "".join(
        f'<th class="{"text" if c in text_columns else ""}">{html.escape(str(c))}</th>'
        for c in table.columns
    )
    body = []
    for _, row in table.iterrows():
        cells = []
        for column, value in row.items():
            if isinstance(value, float):
                shown = "" if pd.isna(value) else f"{value:,.{digits}f}"
            else:
                shown = str(value)
            css = "text" if column in text_columns or not _numeric(value) else ""
            cells.append(f'<td class="{css}">{html.escape(shown)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def k_selection_verdict(k_selection: pd.DataFrame) -> tuple[bool, str]:
    """Whether the criteria of ``k_selection`` agree, in one plain paragraph.

    Args:
        k_selection: ``k``, ``is_knee``, ``is_chosen``, ``preferred_by`` (comma-separated
            criteria whose best value is at that k).

    Returns:
        ``(agree, sentence)``; ``agree`` is true when every criterion prefers the chosen k.
    """
    picks: dict[str, int] = {}
    for _, row in k_selection.iterrows():
        for criterion in str(row["preferred_by"]).split(","):
            if criterion.strip() and criterion.strip() != "nan":
                picks[criterion.strip()] = int(row["k"])
    chosen = k_selection.loc[k_selection["is_chosen"], "k"]
    chosen_k = int(chosen.iloc[0]) if len(chosen) else None
    by_k: dict[int, list[str]] = {}
    for criterion, k in picks.items():
        by_k.setdefault(k, []).append(criterion)
    listing = "; ".join(f"k={k}: {', '.join(names)}" for k, names in sorted(by_k.items()))
    agree = set(by_k) == {chosen_k}
    if agree:
        return True, f"All criteria ({', '.join(picks)}) prefer the chosen k={chosen_k}."
    supporting = by_k.get(chosen_k, [])
    support = (
        f"only {', '.join(supporting)} prefer{'s' if len(supporting) == 1 else ''} it"
        if supporting
        else "no criterion prefers it"
    )
    return False, (
        f"The criteria disagree: {listing}. The segmentation uses k={chosen_k} "
        f"(the configured clustering.n_clusters), and {support}. "
        "Silhouette, Davies-Bouldin and Calinski-Harabasz tend to favour few, coarse groups "
        "on data without clear gaps; k is a business choice here (six actionable segments), "
        "not a property the data proves."
    )


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{html.escape(title)}</h2>{"".join(parts)}</section>'


def _p(text: str, css: str = "") -> str:
    return f'<p class="{css}">{html.escape(text)}</p>'


SECTIONS: tuple[tuple[str, str], ...] = (
    ("run", "Run and model"),
    ("quality", "Data quality"),
    ("eda", "Exploratory analysis"),
    ("k", "Choosing k"),
    ("segments", "Segments"),
    ("maps", "2-D maps"),
    ("income", "Income and spending"),
    ("dbscan", "K-Means vs DBSCAN"),
    ("parameters", "Parameters"),
)


def render_report(parts: dict[str, Any]) -> str:  # noqa: PLR0915
    """The whole report as one HTML document.

    Args:
        parts: ``model_card``, ``data_quality_report``, ``removed_outliers``,
            ``missing_values``, ``category_counts``, ``feature_summary``, ``k_selection``,
            ``segment_table`` (segment, name, description, action, size, share),
            ``spending_mix``, ``clustering_comparison``, ``parameters`` (dict) and
            ``figures``: title -> PNG bytes or Figure for ``distributions``,
            ``correlations``, ``removed``, ``elbow``, ``pca_map``, ``tsne_map``,
            ``income_spending``, ``spending_mix``, ``k_distance``, ``dbscan_map``.

    Returns:
        HTML text holding :data:`RUN_STAMP` where the run's stamp goes.
    """
    card, quality, figures = parts["model_card"], parts["data_quality_report"], parts["figures"]
    nav = "<nav>" + "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t in SECTIONS) + "</nav>"
    run = _section(
        "run",
        "Run and model",
        f"<p>Run stamp (save version of this report; the model card, scaler and K-Means "
        f"model saved by the same <code>kedro run</code> carry the same stamp): "
        f'<b id="run-stamp">{RUN_STAMP}</b></p>',
        html_table(
            pd.DataFrame(
                [
                    ("k (segments)", card["k"]),
                    ("algorithm", card["algorithm"]),
                    ("started from", card.get("initialisation", "")),
                    ("features", ", ".join(card["features"])),
                    ("reference date (age, tenure)", card["reference_date"]),
                    ("training rows", card["training_rows"]),
                    (
                        f"silhouette (on {card.get('silhouette_rows', '?')} rows)",
                        f"{card['silhouette']:.3f}",
                    ),
                    ("random state", card.get("random_state", "")),
                    ("segment numbering", card.get("segment_numbering", "")),
                ],
                columns=["item", "value"],
            ),
            text_columns=("item", "value"),
        ),
    )
    rejected_total = int(quality.get("rows_rejected", 0))
    quality_section = _section(
        "quality",
        "Data quality",
        _p(
            f"Source {quality.get('source', '?')}: {quality.get('rows_in', '?')} rows read, "
            f"{quality.get('rows_clean', '?')} kept, {rejected_total} rejected "
            f"(missing-income policy: {quality.get('missing_income_policy', '?')}); "
            f"delimiter {quality.get('delimiter', '?')}, encoding {quality.get('encoding', '?')}, "
            f"date order {quality.get('date_order', '?')}."
        ),
        "<h3>What cleaning removed</h3>",
        html_table(
            parts["removed_outliers"],
            text_columns=("reason_code", "reason", "examples"),
        ),
        html_image(figures["removed"], "removed values"),
        "<h3>Missing values in the export</h3>",
        html_table(parts["missing_values"].query("missing_raw > 0"), text_columns=("column",))
        if (parts["missing_values"]["missing_raw"] > 0).any()
        else _p("No column has missing values."),
        "<details><summary>Full data-quality report (JSON)</summary><pre>"
        + html.escape(json.dumps(quality, indent=2, default=str))
        + "</pre></details>",
    )
    eda = _section(
        "eda",
        "Exploratory analysis",
        html_image(figures["distributions"], "distributions"),
        "<h3>Feature distributions</h3>",
        html_table(parts["feature_summary"], digits=2, text_columns=("column", "kind")),
        "<h3>Categories</h3>",
        html_table(parts["category_counts"], text_columns=("column", "value")),
        "<h3>Correlations (Spearman)</h3>",
        html_image(figures["correlations"], "correlations"),
    )
    agree, verdict = k_selection_verdict(parts["k_selection"])
    k_section = _section(
        "k",
        "Choosing k",
        _p(verdict, "ok" if agree else "note"),
        html_image(figures["elbow"], "elbow"),
        html_table(parts["k_selection"], text_columns=("preferred_by",)),
    )
    segments = parts["segment_table"]
    seg_section = _section(
        "segments",
        "Segments",
        _p(
            "Segment 0 has the highest mean total spending. Names, descriptions and actions "
            "follow rules on the segment profiles (clustering.naming in the parameters)."
        ),
        html_table(
            segments,
            digits=2,
            text_columns=("name", "description", "action", "behaviour"),
        ),
    )
    maps = _section(
        "maps",
        "2-D maps",
        html_image(figures["pca_map"], "PCA map"),
        html_image(figures["tsne_map"], "t-SNE map"),
        _p(
            "PCA keeps distances (axes show the variance they explain); t-SNE keeps only "
            "neighbourhoods: distances between groups on it mean little."
        ),
    )
    income = _section(
        "income",
        "Income and spending",
        html_image(figures["income_spending"], "income and spending"),
        html_image(figures["spending_mix"], "spending mix"),
        html_table(parts["spending_mix"], digits=2, text_columns=("name",)),
    )
    comparison = parts["clustering_comparison"]
    dbscan_rows = comparison[comparison["method"] == "dbscan"]
    dbscan_verdict = (
        str(dbscan_rows["verdict"].iloc[0])
        if len(dbscan_rows) and "verdict" in comparison
        else "DBSCAN row missing."
    )
    dbscan = _section(
        "dbscan",
        "K-Means vs DBSCAN",
        _p(dbscan_verdict, "note"),
        html_table(comparison, text_columns=("method", "cluster_sizes", "verdict", "eps_rule")),
        html_image(figures["k_distance"], "k-distance"),
        html_image(figures["dbscan_map"], "K-Means vs DBSCAN"),
    )
    parameters = _section(
        "parameters",
        "Parameters",
        "<pre>" + html.escape(json.dumps(parts["parameters"], indent=2, default=str)) + "</pre>",
    )
    title = f"Customer segmentation report: {card['k']} segments"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="run-stamp" content="{RUN_STAMP}">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{nav}"
        + run
        + quality_section
        + eda
        + k_section
        + seg_section
        + maps
        + income
        + dbscan
        + parameters
        + "</body></html>"
    )


__all__ = [
    "RUN_STAMP",
    "SECTIONS",
    "FigureDataset",
    "HtmlReportDataset",
    "html_image",
    "html_table",
    "k_selection_verdict",
    "render_report",
]
