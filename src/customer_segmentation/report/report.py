"""The HTML segmentation report: the data it shows, rendered with ``template.html.j2``.

One self-contained file: figures arrive as the PNG bytes their nodes saved and are embedded as
base64, so the report opens offline. The words that depend on the model (k, the verdicts) are
derived here from the model's own tables, never written into the template.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from customer_segmentation.core import outcomes, segments
from customer_segmentation.core.contract import containers
from customer_segmentation.core.modeling import dbscan, selection, stability
from customer_segmentation.core.monitoring import drift, migration
from customer_segmentation.report import RUN_STAMP

SECTIONS: tuple[tuple[str, str], ...] = (
    ("run", "Run and model"),
    ("quality", "Data quality"),
    ("eda", "Exploratory analysis"),
    ("k", "Choosing k"),
    ("segments", "Segments"),
    ("stability", "Can I trust a segment?"),
    ("outcomes", "Will it respond?"),
    ("rfm", "RFM beside K-Means"),
    ("changes", "What changed since the previous model"),
    ("maps", "2-D maps"),
    ("income", "Income and spending"),
    ("dbscan", "K-Means vs DBSCAN"),
    ("methods", "Other methods"),
    ("parameters", "Parameters"),
)
FIGURES: tuple[str, ...] = (
    "distributions",
    "correlations",
    "removed",
    "elbow",
    "profile_heatmap",
    "segment_distributions",
    "pca_map",
    "tsne_map",
    "income_spending",
    "spending_mix",
    "k_distance",
    "dbscan_map",
    "outcomes",
    "rfm_crosstab",
    "methods",
)
STABILITY_COLUMNS = (
    "segment",
    "name",
    "stability_jaccard",
    "stability_jaccard_se",
    "stability_dissolved",
    "stability_label",
)
OUTCOME_TABLE = (outcomes.RESPONSE, outcomes.ANY_CAMPAIGN)
SEGMENT_COLUMNS = (
    "segment",
    "name",
    "size",
    "share",
    "mean_Income",
    "mean_Total_Spending",
    "mean_Age",
    "description",
    "action",
)


def html_table(
    table: pd.DataFrame,
    digits: int = 3,
    text: tuple[str, ...] = (),
    formats: Mapping[str, str] | None = None,
) -> Markup:
    """A compact HTML table, the one way the project writes one: floats rounded to ``digits``
    (or in ``formats``' spec for their column, e.g. ``{"ks_pvalue": ".2g"}``), ``text``
    columns (and any value that is not a number) left-aligned. Every value is escaped.
    """
    formats = formats or {}
    head = "".join(
        f'<th class="{"text" if c in text else ""}">{escape(str(c))}</th>' for c in table.columns
    )
    body = []
    for row in table.itertuples(index=False):
        cells = []
        for column, value in zip(table.columns, row, strict=True):
            if isinstance(value, float):
                spec = formats.get(column, f",.{digits}f")
                shown = "" if pd.isna(value) else format(value, spec)
            else:
                shown = str(value)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = "text" if column in text or not numeric else ""
            cells.append(f'<td class="{css}">{escape(shown)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def html_image(png: bytes, alt: str) -> Markup:
    """An ``<img>`` with the PNG embedded as base64 (viewable offline)."""
    data = base64.b64encode(png).decode("ascii")
    return Markup(f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">')


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("customer_segmentation", "report"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["table"] = html_table
    environment.filters["image"] = html_image
    return environment


def quality_sentence(quality: Mapping[str, Any]) -> str:
    """What the data contract read, kept and rejected, in one sentence, with how the source
    was read (``contract.containers.describe``: a file's delimiter and encoding, a workbook's
    sheet, a database table).
    """
    return (
        f"Source {quality['source']}: {quality['rows_in']:,} rows read, "
        f"{quality['rows_clean']:,} kept, {quality['rows_rejected']:,} rejected "
        f"(missing-income policy: {quality['missing_income_policy']}); "
        f"read as {containers.describe(quality)}, date order {quality['date_order']}."
    )


def model_table(card: Mapping[str, Any]) -> pd.DataFrame:
    """The model card's headline facts as an item/value table."""
    return pd.DataFrame(
        [
            ("k (segments)", card["k"]),
            ("algorithm", card["algorithm"]),
            ("started from", card["initialisation"]),
            ("features", ", ".join(card["features"])),
            ("reference date (age, tenure)", card["reference_date"]),
            ("training rows", f"{card['training_rows']:,}"),
            (f"silhouette (on {card['silhouette_rows']:,} rows)", f"{card['silhouette']:.3f}"),
            ("random state", card["random_state"]),
            ("segment numbering", card["segment_numbering"]),
        ],
        columns=["item", "value"],
    ).astype(str)


def outcome_table(table: pd.DataFrame, names: Mapping[int, str]) -> pd.DataFrame:
    """The headline outcomes per segment with names, rates and intervals in percent."""
    rows = table[table["outcome"].isin(OUTCOME_TABLE)].copy()
    rows.insert(1, "name", [names.get(int(s), f"Segment {s}") for s in rows["segment"]])
    for column in ("rate", "ci_low", "ci_high", "overall_rate"):
        rows[column] = 100 * rows[column]
    return rows.rename(
        columns={
            "rate": "rate %",
            "ci_low": "95% low %",
            "ci_high": "95% high %",
            "overall_rate": "all customers %",
        }
    )


def migration_table(comparison: Mapping[str, Any]) -> pd.DataFrame | None:
    """The previous model's segments (rows, ``from``) against this model's (columns):
    customers in both (``migration.contingency_matrix``), or None for the first model.
    """
    if comparison.get("previous_version") is None:
        return None
    matrix = migration.contingency_matrix(comparison)
    return matrix.rename_axis(index="from", columns=None).reset_index()


def render(
    *,
    model_card: Mapping[str, Any],
    data_quality_report: Mapping[str, Any],
    tables: Mapping[str, Any],
    figures: Mapping[str, bytes],
    parameters: Mapping[str, Any],
) -> str:
    """The whole report as one HTML document.

    Args:
        model_card: the model's card.
        data_quality_report: the data contract's report.
        tables: ``removed_outliers``, ``missing_values``, ``category_counts``,
            ``feature_summary``, ``k_selection``, ``segment_profiles`` (with the stability
            columns), ``spending_mix``, ``clustering_comparison``, ``method_comparison``,
            ``segment_outcomes``,
            ``rfm_crosstab``, and ``segment_migration`` (a dict: ``monitoring.migration``).
        figures: PNG bytes of every name in :data:`FIGURES`.
        parameters: each pipeline's parameters (JSON-able; ``reporting.outcomes.z`` and
            ``reporting.rfm`` are read).

    Returns:
        HTML text holding :data:`RUN_STAMP` where the model version's stamp goes.
    """
    missing = [name for name in FIGURES if name not in figures]
    if missing:
        raise KeyError(f"the report lacks figure(s): {', '.join(missing)}")
    k = int(model_card["k"])
    context = {
        "title": f"Customer segmentation report: {k} segments",
        "run_stamp": RUN_STAMP,
        "sections": SECTIONS,
        "model_table": model_table(model_card),
        "quality_sentence": quality_sentence(data_quality_report),
        "quality_json": json.dumps(data_quality_report, indent=2, default=str),
        "segments_sentence": (
            f"{k} segments, numbered by mean total spending (segment 0 spends most). Names, "
            "descriptions and actions follow rules on the segment profiles "
            "(clustering.naming in the parameters)."
        ),
        "figures": figures,
        "parameters_json": json.dumps(parameters, indent=2, default=str),
        **_data_sections(tables),
        **_evidence_sections(model_card, data_quality_report, tables, parameters),
    }
    return _environment().get_template("template.html.j2").render(**context)


def _data_sections(tables: Mapping[str, Any]) -> dict[str, Any]:
    """The template's values for the data, choosing k, the segments and DBSCAN."""
    k_agree, k_verdict = selection.verdict(tables["k_selection"])
    missing_values = tables["missing_values"].query("missing_raw > 0")
    return {
        "removed_outliers": tables["removed_outliers"],
        "missing_values": None if missing_values.empty else missing_values,
        "feature_summary": tables["feature_summary"],
        "category_counts": tables["category_counts"],
        "k_agree": k_agree,
        "k_verdict": k_verdict,
        "k_selection": tables["k_selection"],
        "segment_table": tables["segment_profiles"][list(SEGMENT_COLUMNS)],
        "spending_mix": tables["spending_mix"],
        "dbscan_verdict": dbscan.verdict_of(tables["clustering_comparison"]),
        "clustering_comparison": tables["clustering_comparison"],
        "methods_verdict": str(tables["method_comparison"]["verdict"].iloc[0]),
        "methods_fitted_on": str(tables["method_comparison"]["fitted_on"].iloc[0]),
        "method_comparison": tables["method_comparison"].drop(
            columns=["verdict", "title", "fitted_on"]
        ),
    }


def _evidence_sections(
    model_card: Mapping[str, Any],
    data_quality_report: Mapping[str, Any],
    tables: Mapping[str, Any],
    parameters: Mapping[str, Any],
) -> dict[str, Any]:
    """The template's values for stability, outcomes, RFM and the change since the previous
    model.
    """
    names = segments.segment_names(model_card)
    outcome_rows = tables["segment_outcomes"]
    z = float(parameters["reporting"]["outcomes"]["z"])
    rfm = parameters["reporting"]["rfm"]
    change = tables["segment_migration"]
    first = change.get("previous_version") is None
    return {
        "stability_sentence": stability.how_to_read(
            tables["segment_profiles"], parameters["clustering"]["segment_stability"]["thresholds"]
        ),
        "stability_table": tables["segment_profiles"][list(STABILITY_COLUMNS)],
        "outcomes_note": outcomes.note_of(
            outcome_rows, data_quality_report["absent_optional_columns"]
        ),
        "campaign_sentence": outcomes.next_campaign_sentence(outcome_rows, z, names),
        "outcome_table": outcome_table(outcome_rows, names) if len(outcome_rows) else None,
        "rfm_groups": ", ".join(
            f"{g['name']} (R {g['r'][0]}-{g['r'][1]}, F {g['f'][0]}-{g['f'][1]}, "
            f"M {g['m'][0]}-{g['m'][1]})"
            for g in rfm["groups"]
        ),
        "rfm_otherwise": rfm["otherwise"],
        "rfm_levels": rfm["levels"],
        "migration_warnings": [] if first else migration.warnings(change),
        "migration_sentence": change["sentence"] if first else migration.migration_sentence(change),
        "migration_table": migration_table(change),
    }


def drift_section(found: drift.DriftReport) -> str:
    """A new export's drift (``monitoring.drift.drift_report``) as a self-contained HTML
    fragment (one ``<section>``, no styles or scripts), through ``drift.html.j2`` and the
    report's tables: the sentence, the features, the segment shares' test and table, and the
    customers who moved when they were counted. Every value is escaped.
    """
    moves = found.summary["moves"]
    moved = None
    if moves is not None:
        moved = drift.moves_table(moves).reset_index()
        moved.columns = ["previous \\ new", *map(str, moved.columns[1:])]
    return (
        _environment()
        .get_template("drift.html.j2")
        .render(
            sentence=found.summary["sentence"],
            features=found.features,
            segments=found.segments,
            test=found.summary["segment_test"],
            moves=moves,
            moved=moved,
        )
    )
