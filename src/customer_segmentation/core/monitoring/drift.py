"""Drift of new customers against the data a model was trained on.

* :func:`drift_reference`, when the model is fitted: per model feature the training
  distribution (quantile bins and their shares, a seeded sample of values for the
  Kolmogorov-Smirnov test, mean and standard deviation) and the segments' shares. Plain lists,
  ints and floats, so it is saved as a JSON dataset with the model version.
* :func:`drift_report`, when new customers are scored: per feature the population stability
  index (PSI) over the reference bins, the two-sample KS statistic and p-value (the reference
  sample against a seeded sample of as many new customers), the means and
  the standardised mean shift, and a verdict from the PSI; for the segments a chi-square
  goodness-of-fit test of the new counts against the training shares with Cramér's V and a
  verdict from V; optionally how many returning customers moved between segments.
* :func:`drift_sentence`: the answer in one sentence (``report.drift_section`` lays it out as
  HTML with the tables, through the report's template).

Verdicts come from effect sizes (PSI, Cramér's V) with thresholds passed in from parameters,
never from p-values: with thousands of new customers a p-value flags differences too small to
matter, and with a few dozen it misses large ones.

Tables may be pandas or native tables of the engine: values and segments are counted in the
engine (``eda.distributions``, a group-by), so only counts and seeded samples come to this
process, whatever the number of customers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import narwhals as nw
import numpy as np
import pandas as pd
from scipy import stats

from customer_segmentation import schema
from customer_segmentation.core import engine
from customer_segmentation.core.eda import Distribution, distributions
from customer_segmentation.core.segments import matched_segments, segment_pair_counts

logger = logging.getLogger(__name__)

FEATURE_COLUMNS: tuple[str, ...] = (
    "feature",
    "n_training",
    "n_new",
    "psi",
    "ks_statistic",
    "ks_pvalue",
    "mean_training",
    "mean_new",
    "std_training",
    "std_new",
    "standardised_mean_shift",
    "verdict",
)
SEGMENT_COLUMNS: tuple[str, ...] = (
    "segment",
    "count_training",
    "share_training",
    "count_new",
    "share_new",
    "expected_new",
    "share_change",
)
# Feature verdicts, by PSI, and segment-share verdicts, by Cramér's V; mildest first.
FEATURE_VERDICTS: tuple[str, str, str] = ("stable", "moderate", "major")
SEGMENT_VERDICTS: tuple[str, str, str] = ("negligible", "moderate", "large")
# PSI takes the logarithm of each bin's share ratio, so an empty bin (new or training) counts
# as holding this share. 1e-4 is one customer in 10,000: below any bin's share on the files we
# score (a training bin holds about 1/bins of the customers, a new file of n customers has
# shares in steps of 1/n), so it changes nothing but truly empty bins, where it caps the bin's
# term at about share * ln(share / 1e-4) (0.69 for a 10 % bin, "major" on its own) instead of
# infinity.
PSI_EPSILON = 1e-4
# Quantiles that are data values (the empirical distribution's inverse), so every training bin
# holds at least one customer; see quantile_edges.
QUANTILE_METHOD = "inverted_cdf"
# The layout of drift_reference's dict; a reader can refuse a layout it does not know.
REFERENCE_FORMAT = 1


class PsiThresholds(Protocol):
    """PSI bands: below ``moderate`` stable, below ``major`` moderate, else major drift."""

    moderate: float
    major: float


class CramersVThresholds(Protocol):
    """Cramér's V bands: below ``moderate`` negligible, below ``large`` moderate, else large."""

    moderate: float
    large: float


class DriftThresholds(Protocol):
    """The verdicts' thresholds (the ``drift`` parameters): ``psi`` per feature, ``cramers_v``
    for the segment shares.
    """

    psi: PsiThresholds
    cramers_v: CramersVThresholds


class DriftReport(NamedTuple):
    """What :func:`drift_report` returns; a tuple, so a Kedro node can map it to three outputs.

    ``features``: one row per model feature, columns :data:`FEATURE_COLUMNS`.
    ``segments``: one row per training segment, columns :data:`SEGMENT_COLUMNS`.
    ``summary``: JSON-serialisable dict with ``n_new``, ``segment_test`` (``chi2``, ``dof``,
    ``pvalue``, ``cramers_v``, ``verdict``), ``moves`` (:func:`segment_moves`, or None) and the
    ``sentence`` (:func:`drift_sentence`).
    """

    features: pd.DataFrame
    segments: pd.DataFrame
    summary: dict[str, Any]


# --- reading values -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value JSON writes (``np.int64(3)`` -> ``3``)."""
    return value.item() if isinstance(value, np.generic) else value


# --- bins and PSI ---------------------------------------------------------------------------


def quantile_edges(counted: Distribution, bins: int) -> list[float]:
    """The inner bin edges of ``bins`` quantile bins of a feature's values (``counted``); the
    first and the last bin are open-ended, so a new value below or above anything seen in
    training still has a bin (and no infinity has to be written to JSON).

    A bin is right-closed, ``(edges[i-1], edges[i]]`` (see :func:`bin_counts`). The edges are
    quantiles that are data values (``numpy.quantile``'s ``inverted_cdf``, read from the
    counts), deduplicated, and an edge at the maximum is dropped: so every bin holds training
    customers, and a discrete feature (``Kidhome``: 0, 1, 2) gets one bin per value rather
    than empty or repeated bins.
    """
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    probabilities = np.arange(1, bins) / bins
    n = counted.count
    # numpy's inverted_cdf: the value at 0-based position n * p - 1, rounded up unless whole.
    index = n * probabilities - 1
    below = np.floor(index)
    position = np.clip(np.where(index - below > 0, below + 1, below), 0, n - 1)
    ends = np.cumsum(counted.counts)
    inner = counted.values[np.searchsorted(ends, position, side="right")]
    edges = np.unique(inner)
    return [float(e) for e in edges[edges < counted.values[-1]]]


def bin_counts(
    values: np.ndarray, edges: Sequence[float], weights: np.ndarray | None = None
) -> np.ndarray:
    """How many ``values`` fall in each bin of ``edges`` (``len(edges) + 1`` bins:
    ``x <= edges[0]``, ``edges[i-1] < x <= edges[i]``, ``x > edges[-1]``); with ``weights``,
    ``values`` are distinct values held by that many customers each.
    """
    index = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="left")
    counts = np.bincount(index, weights=weights, minlength=len(edges) + 1)
    return counts.astype(np.int64)


def psi(
    reference_shares: Sequence[float], new_shares: Sequence[float], epsilon: float = PSI_EPSILON
) -> float:
    """Population stability index: ``sum((new - ref) * ln(new / ref))`` over the bins, each
    share at least ``epsilon`` (:data:`PSI_EPSILON`: why). 0 for identical shares; symmetric.
    """
    ref = np.maximum(np.asarray(reference_shares, dtype="float64"), epsilon)
    new = np.maximum(np.asarray(new_shares, dtype="float64"), epsilon)
    return float(np.sum((new - ref) * np.log(new / ref)))


def _band(value: float, lower: float, upper: float, names: tuple[str, str, str]) -> str:
    if value < lower:
        return names[0]
    return names[1] if value < upper else names[2]


def psi_verdict(value: float, thresholds: PsiThresholds) -> str:
    """``stable`` below ``thresholds.moderate``, ``moderate`` below ``thresholds.major``, else
    ``major`` (the usual 0.1 and 0.25).
    """
    return _band(value, thresholds.moderate, thresholds.major, FEATURE_VERDICTS)


def cramers_v_verdict(value: float, thresholds: CramersVThresholds) -> str:
    """``negligible`` below ``thresholds.moderate``, ``moderate`` below ``thresholds.large``,
    else ``large`` (the usual 0.1 and 0.3).
    """
    return _band(value, thresholds.moderate, thresholds.large, SEGMENT_VERDICTS)


# --- the reference --------------------------------------------------------------------------


def _kept(counted: Distribution, bins: int, sample: pd.Series) -> dict[str, Any]:
    """What the reference keeps of one feature (``counted``: its values, counted in the
    engine): its quantile bins, their shares, the sample's values, mean and standard deviation.
    """
    edges = quantile_edges(counted, bins)
    in_bins = bin_counts(counted.values, edges, counted.counts)
    mean, std, _ = counted.moments()
    return {
        "edges": edges,
        "shares": [float(s) for s in in_bins / counted.count],
        "sample": [float(v) for v in sample],
        "mean": float(mean),
        "std": float(std),
    }


def _check_training(rows: int, sample_size: int) -> None:
    if sample_size < 1:
        raise ValueError(f"sample_size must be at least 1, got {sample_size}")
    if rows < 2:
        raise ValueError(f"a drift reference needs at least 2 training customers, got {rows}")


def drift_reference(
    segmented: Any,
    columns: Sequence[str],
    bins: int,
    sample_size: int,
    seed: int,
) -> dict[str, Any]:
    """The training data's distributions, kept with the model to judge new customers by.

    ``segmented``: the training customers (pandas or a native table of the engine) with ``ID``,
    ``columns`` (no missing values) and their ``segment``. Each column's values and the
    segments are counted in the engine; only those counts and the sample come to this process.

    Returns a JSON-serialisable dict (only lists, ints, floats, strings)::

        {"format": 1, "bins": ..., "sample_size": ..., "seed": ..., "n": rows,
         "features": {name: {"edges": inner bin edges (quantile_edges),
                             "shares": training share per bin,
                             "sample": up to sample_size values, for the KS test,
                             "mean": ..., "std": ... (ddof 1)}},
         "segments": {"labels": [...], "counts": [...], "shares": [...]}}

    The sample is the project's seeded sample of customers (``engine.sample``: the same
    customers for every feature, in ``ID`` order); with ``sample_size`` at least the row count
    it holds every value. The same data and ``seed`` give the same dict.
    """
    frame = engine.lazy(segmented)
    present = frame.collect_schema().names()
    missing = [c for c in columns if c not in present]
    if missing:
        raise KeyError(f"the training features have no column {missing[0]!r}")
    segments = engine.to_pandas(
        frame.group_by(schema.SEGMENT).agg(customers=nw.len()).sort(schema.SEGMENT)
    )
    n = int(segments["customers"].sum())
    _check_training(n, sample_size)
    counted = distributions(frame, columns, rows=n)  # n: counted with the segments
    for column in columns:
        if counted[column].count < n:
            raise ValueError(
                f"the training features: {n - counted[column].count} missing value(s) in "
                f"{column!r}; drift needs complete features (the data contract's clean table)"
            )
    sample = engine.to_pandas(
        engine.sample(frame.select(schema.ID, *columns), sample_size, seed, schema.ID)
    )
    kept = {column: _kept(counted[column], bins, sample[column]) for column in columns}
    logger.info(
        "Drift reference: %d features, %d bins at most, a sample of %d of %d customers",
        len(kept),
        bins,
        len(sample),
        n,
    )
    counts = segments["customers"].to_numpy(dtype=np.int64)
    return {
        "format": REFERENCE_FORMAT,
        "bins": int(bins),
        "sample_size": int(sample_size),
        "seed": int(seed),
        "n": int(n),
        "features": kept,
        "segments": {
            "labels": [_plain(name) for name in segments[schema.SEGMENT]],
            "counts": [int(c) for c in counts],
            "shares": [float(c / n) for c in counts],
        },
    }


# --- the report -----------------------------------------------------------------------------


class NewValues(NamedTuple):
    """What the report reads of one feature of the new customers, counted in the engine: the
    customers in each reference bin, the mean and standard deviation, and the values of the
    seeded sample the KS test compares with the reference's.
    """

    in_bins: np.ndarray
    mean: float
    std: float
    sample: np.ndarray


def _feature_row(
    name: str,
    kept: Mapping[str, Any],
    n_training: int,
    new: NewValues,
    thresholds: PsiThresholds,
) -> dict[str, Any]:
    n_new = int(new.in_bins.sum())
    value = psi(kept["shares"], new.in_bins / n_new)
    ks = stats.ks_2samp(np.asarray(kept["sample"], dtype="float64"), new.sample)
    std = float(kept["std"])
    shift = new.mean - float(kept["mean"])
    if std > 0:
        standardised = shift / std
    else:  # a constant training feature: any move is infinitely many standard deviations
        standardised = 0.0 if shift == 0 else float(np.copysign(np.inf, shift))
    return {
        "feature": name,
        "n_training": n_training,
        "n_new": n_new,
        "psi": value,
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "mean_training": float(kept["mean"]),
        "mean_new": float(new.mean),
        "std_training": std,
        "std_new": float(new.std),
        "standardised_mean_shift": standardised,
        "verdict": psi_verdict(value, thresholds),
    }


def new_values(
    frame: nw.LazyFrame, reference: Mapping[str, Any]
) -> tuple[int, dict[str, NewValues]]:
    """The new customers (``frame``: the reference's features, no missing values, and ``ID``)
    read as the reference read the training ones: each feature's values counted in the engine
    (``eda.distributions``) and put in the reference's bins, its mean and standard deviation,
    and a seeded sample of ``reference["sample_size"]`` customers (the reference's seed).
    Returns their number and :class:`NewValues` per feature.

    Raises:
        KeyError: a feature is not a column of ``frame``.
        ValueError: a feature has missing values (named, with how many).
    """
    features = reference["features"]
    present = frame.collect_schema().names()
    for name in features:
        if name not in present:
            raise KeyError(f"the new features has no column {name!r}")
    counted = distributions(frame, list(features))
    n = counted[next(iter(features))].rows
    for name in features:
        if counted[name].count < n:
            raise ValueError(
                f"the new features: {n - counted[name].count} missing value(s) in {name!r}; "
                "drift needs complete features (the data contract's clean table)"
            )
    sample = engine.to_pandas(
        engine.sample(
            frame.select(schema.ID, *features),
            reference["sample_size"],
            reference["seed"],
            schema.ID,
        )
    )
    found = {}
    for name, kept in features.items():
        mean, std, _ = counted[name].moments()
        in_bins = bin_counts(counted[name].values, kept["edges"], counted[name].counts)
        found[name] = NewValues(in_bins, mean, std, sample[name].to_numpy(dtype="float64"))
    return n, found


def segment_shift(
    reference: Mapping[str, Any], segments: pd.Series, thresholds: CramersVThresholds
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The new customers' segment counts against the training shares.

    ``reference``: the ``segments`` part of :func:`drift_reference`'s dict; ``segments``: the
    new customers per segment (:func:`segment_counts`). Returns the table (columns :data:`SEGMENT_COLUMNS`, one row per
    training segment) and the test: ``n``, ``chi2`` and ``pvalue`` of ``scipy.stats.chisquare``
    (goodness of fit, ``dof`` = segments - 1), Cramér's V = sqrt(chi2 / (n * (k - 1))) and its
    verdict (:func:`cramers_v_verdict`). V is 0 when the shares are the training shares; for
    goodness of fit it can exceed 1 when a rare segment swells. A segment the training data
    never had stops with an error: the segments come from another model.
    """
    labels = list(reference["labels"])
    if len(labels) < 2:
        raise ValueError("a segment-share test needs at least 2 training segments")
    if not segments.sum():
        raise ValueError("no new customers to compare with the training segments")
    unknown = sorted(set(segments.index) - set(labels), key=str)
    if unknown:
        raise ValueError(
            f"segment(s) {', '.join(map(str, unknown))} not among the training segments "
            f"{labels}: the segments come from another model version"
        )
    observed = segments.reindex(labels, fill_value=0).to_numpy()
    n = int(observed.sum())
    counts_training = np.asarray(reference["counts"], dtype="float64")
    shares_training = counts_training / counts_training.sum()
    expected = shares_training * n
    result = stats.chisquare(observed, expected)
    chi2 = float(result.statistic)
    v = float(np.sqrt(chi2 / (n * (len(labels) - 1))))
    table = pd.DataFrame(
        {
            "segment": labels,
            "count_training": counts_training.astype("int64"),
            "share_training": shares_training,
            "count_new": observed.astype("int64"),
            "share_new": observed / n,
            "expected_new": expected,
            "share_change": observed / n - shares_training,
        },
        columns=list(SEGMENT_COLUMNS),
    )
    test = {
        "n": n,
        "chi2": chi2,
        "dof": len(labels) - 1,
        "pvalue": float(result.pvalue),
        "cramers_v": v,
        "verdict": cramers_v_verdict(v, thresholds),
    }
    return table, test


def segment_moves(previous: Any, current: Any) -> dict[str, Any]:
    """How many returning customers changed segment.

    ``previous``: columns ``ID`` and ``previous_segment``; ``current``: ``ID`` and ``segment``
    (pandas or the engine's native tables). Customers are matched by ``ID`` and counted in the
    engine (:func:`segments.matched_segments`); each ID may appear once per table.
    Returns a JSON-serialisable dict: ``matched`` (IDs in both), ``changed`` (of those, with
    another segment), ``changed_share`` (``changed / matched``; 0 with no match),
    ``previous_only`` and ``new_only`` (IDs in one table), and the move table as
    ``previous_segments`` (rows), ``new_segments`` (columns) and ``counts`` (rows of counts;
    :func:`moves_table` makes it a frame).
    """
    before = engine.lazy(previous).select("ID", "previous_segment")
    after = engine.lazy(current).select("ID", "segment")
    columns = ("previous_segment", "segment")
    both = matched_segments(before, after, columns)
    crosstab = segment_pair_counts(both, columns)
    changed = int(both.loc[both["previous_segment"] != both["segment"], "customers"].sum())
    matched = int(both["customers"].sum())
    return {
        "matched": matched,
        "changed": changed,
        "changed_share": changed / matched if matched else 0.0,
        "previous_only": engine.row_count(before) - matched,
        "new_only": engine.row_count(after) - matched,
        "previous_segments": [_plain(s) for s in crosstab.index],
        "new_segments": [_plain(s) for s in crosstab.columns],
        "counts": [[int(c) for c in row] for row in crosstab.to_numpy()],
    }


def moves_table(moves: Mapping[str, Any]) -> pd.DataFrame:
    """The move table of :func:`segment_moves` as a frame: index ``previous_segment``,
    columns ``segment`` (the new one), values the customers.
    """
    return pd.DataFrame(
        moves["counts"],
        index=pd.Index(moves["previous_segments"], name="previous_segment"),
        columns=pd.Index(moves["new_segments"], name="segment"),
        dtype="int64",
    )


def segment_counts(frame: nw.LazyFrame) -> pd.Series:
    """Customers per ``segment`` of ``frame``, counted in the engine (index: the segments)."""
    counts = engine.to_pandas(
        frame.group_by(schema.SEGMENT).agg(customers=nw.len()).sort(schema.SEGMENT)
    )
    return pd.Series(
        counts["customers"].to_numpy(dtype=np.int64),
        index=pd.Index([_plain(s) for s in counts[schema.SEGMENT]], name=schema.SEGMENT),
        name="customers",
    )


def drift_report(
    reference: Mapping[str, Any],
    scored: Any,
    thresholds: DriftThresholds,
    previous: Any | None = None,
) -> DriftReport:
    """New customers against the training data a model keeps (:func:`drift_reference`).

    ``scored``: the new customers (pandas or a native table of the engine) with ``ID``, their
    ``segment`` and every feature of the reference, no missing values; ``previous``
    (optional): ``ID`` and ``previous_segment`` of an earlier scoring, to count who moved
    (:func:`segment_moves`). Everything is counted in the engine (:func:`new_values`,
    :func:`segment_counts`); only those counts and a seeded sample come to this process.

    Per feature (:data:`FEATURE_COLUMNS`): ``psi`` over the reference bins
    (:func:`psi`), ``ks_statistic`` and ``ks_pvalue`` of ``scipy.stats.ks_2samp`` of the
    reference sample against a seeded sample of as many new customers (all when fewer), the
    means, standard deviations and the standardised mean shift
    ``(mean_new - mean_training) / std_training``.

    How the verdict is reached: ``verdict`` comes from the PSI alone
    (:func:`psi_verdict`, ``thresholds.psi``). The KS statistic (the largest gap between the
    two cumulative distributions, 0 to 1) is a second effect size to read beside it, and the
    standardised shift says which way and how far the centre moved. The KS p-value is only
    supporting evidence: it shrinks with the number of customers, so a large file would make
    tiny shifts "significant"; two samples of ``sample_size`` values keep it the same for a
    file of any size, but it still decides nothing. The segment shares likewise get their
    verdict from Cramér's V (:func:`segment_shift`, ``thresholds.cramers_v``), the chi-square
    p-value shown beside it.
    """
    frame = engine.lazy(scored)
    n_new, found = new_values(frame, reference)
    rows = [
        _feature_row(name, kept, reference["n"], found[name], thresholds.psi)
        for name, kept in reference["features"].items()
    ]
    table = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))
    shares, test = segment_shift(reference["segments"], segment_counts(frame), thresholds.cramers_v)
    moves = None
    if previous is not None:
        moves = segment_moves(previous, frame.select(schema.ID, schema.SEGMENT))
    sentence = drift_sentence(table, test)
    logger.info("Drift of %d new customers: %s", n_new, sentence)
    summary = {"n_new": n_new, "segment_test": test, "moves": moves, "sentence": sentence}
    return DriftReport(features=table, segments=shares, summary=summary)


# --- words and HTML -------------------------------------------------------------------------


def _listed(rows: pd.DataFrame) -> str:
    return ", ".join(f"{r.feature} PSI {r.psi:.2f}" for r in rows.itertuples())


def drift_sentence(features: pd.DataFrame, segment_test: Mapping[str, Any]) -> str:
    """What moved and whether the model still applies, in one sentence.

    ``features``: :func:`drift_report`'s feature table (``feature``, ``psi``, ``verdict``);
    ``segment_test``: its ``cramers_v`` and ``verdict``. Retrain when a feature drifted
    majorly or the segment shares changed largely; watch when something moved moderately;
    else the model still applies. Drifted features are listed by PSI, largest first; with none,
    the largest PSI is named.
    """
    stable, moderate, major = FEATURE_VERDICTS
    ranked = features.sort_values("psi", ascending=False, kind="stable")
    majors = ranked[ranked["verdict"] == major]
    moderates = ranked[ranked["verdict"] == moderate]
    total = len(features)
    if len(majors):
        drift = f"{len(majors)} of {total} features drifted majorly ({_listed(majors)})"
        if len(moderates):
            drift += f", {len(moderates)} moderately ({_listed(moderates)})"
    elif len(moderates):
        drift = f"{len(moderates)} of {total} features drifted moderately ({_listed(moderates)})"
    else:
        top = ranked.iloc[0]
        drift = f"No feature drifted (largest PSI {top['psi']:.2f}, {top['feature']})"
    negligible, changed, large = SEGMENT_VERDICTS
    v = f"Cramér's V {segment_test['cramers_v']:.2f}"
    shares = {
        negligible: f"segment shares are stable ({v})",
        changed: f"segment shares changed moderately ({v})",
        large: f"segment shares changed largely ({v})",
    }[segment_test["verdict"]]
    if len(majors) or segment_test["verdict"] == large:
        verdict = "retrain before trusting the segments"
    elif len(moderates) or segment_test["verdict"] == changed:
        verdict = "the model still applies, but watch what moved"
    else:
        verdict = "the model still applies"
    if len(majors) or len(moderates):
        joint = "; "
    else:
        joint = " and " if segment_test["verdict"] == negligible else ", but "
    return f"{drift}{joint}{shares}: {verdict}."
