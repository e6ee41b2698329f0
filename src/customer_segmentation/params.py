"""The parameters of every pipeline as types: one pydantic model per ``parameters_<name>.yml``.

Nodes annotate their ``params:<pipeline>`` argument with these models, so Kedro 1.7 validates
the configuration (``conf/base`` plus ``--params``) before the first node runs
(``kedro.validation``): ``kedro run --params clustering.n_clusters=abc`` stops at once with a
message naming ``clustering.n_clusters``, and no dataset, no model version, is written.

The values live in ``conf/``; nothing here has a default. Code reads fields
(``params.n_clusters``), never ``params.get(key, default)``.

Every node module imports this one, and Kedro validates with it whenever it builds the catalog
(``kedro viz build`` too), so it imports pydantic and ``schema`` only. The constraints on a
parameter's values (an RFM rule's score range, the stability labels covering 0 to 1) are part
of its type and checked here once, before a run; the domain takes typed parameters and does
not check them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    model_validator,
)

from customer_segmentation import schema

Fraction = Annotated[float, Field(gt=0, lt=1)]
Share = Annotated[float, Field(gt=0, le=1)]


def _known_columns(columns: list[str]) -> list[str]:
    """Columns of ``customer_features`` (``schema.FEATURE_COLUMNS``), each once."""
    unknown = [c for c in columns if c not in schema.FEATURE_COLUMNS]
    if unknown:
        raise ValueError(
            f"unknown feature(s) {', '.join(unknown)}; the features are "
            f"{', '.join(schema.FEATURE_COLUMNS)}"
        )
    if len(set(columns)) != len(columns):
        raise ValueError(f"a column is listed twice: {columns}")
    return columns


# A list of columns of customer_features.
Columns = Annotated[list[str], Field(min_length=1), AfterValidator(_known_columns)]


class ParameterError(Exception):
    """A parameter has a value the project cannot use; the message names it as
    ``pipeline.key`` with what was given and what is allowed.

    Not a ``ValueError``: pydantic lets other exceptions through unchanged, so the message Kedro
    prints is this one.
    """


class _Block(BaseModel):
    """A group of parameters inside a pipeline's parameters: every key is required, an unknown
    key (a typo) is an error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineParams(_Block):
    """The parameters of one pipeline (``params:<KEY>``); errors name ``<KEY>.<field>``."""

    KEY: ClassVar[str]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Validate ``obj`` (what Kedro calls before a run).

        Raises:
            ParameterError: every invalid parameter, named ``<KEY>.<field>``.
        """
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as error:
            raise ParameterError(describe_errors(cls.KEY, error)) from None


def describe_errors(key: str, error: ValidationError) -> str:
    """One line per invalid parameter: ``clustering.n_clusters = 'abc': <what is wrong>``."""
    problems: dict[tuple[str, str], list[str]] = {}
    for problem in error.errors(include_url=False):
        path = [str(part) for part in problem["loc"] if not _is_union_branch(part)]
        given = problem.get("input")
        shown = "" if isinstance(given, dict) else f" = {given!r}"
        message = problem["msg"].removeprefix("Value error, ")
        problems.setdefault((".".join([key, *path]), shown), []).append(message)
    lines = [
        f"{name}{shown}: {', or '.join(dict.fromkeys(messages))}"
        for (name, shown), messages in problems.items()
    ]
    return "invalid parameter(s) in conf/ or --params:\n  " + "\n  ".join(lines)


def _is_union_branch(part: Any) -> bool:
    """Pydantic names the branch of a union it tried (``int``, ``constrained-int``,
    ``literal['auto']``); field names have none of these shapes.
    """
    return isinstance(part, str) and (
        part in {"int", "float", "str", "bool", "date", "none"} or "[" in part or "-" in part
    )


# ------------------------------------------------------------------ data_processing


class DataProcessingParams(PipelineParams):
    """``parameters_data_processing.yml``: the data contract's bounds and policies."""

    KEY: ClassVar[str] = "data_processing"

    missing_income: Literal["drop", "impute_median"]
    min_birth_year: int
    max_income: Annotated[float, Field(gt=0)]
    min_customer_date: date
    max_customer_date: date
    ambiguous_date_order: Literal["day_first", "month_first"]
    two_digit_year_pivot: Annotated[int, Field(ge=0, le=99)]
    decimal_mark: Literal[".", ","]
    stop_share: Annotated[float, Field(gt=0, le=1)]
    chunk_rows: PositiveInt

    @model_validator(mode="after")
    def _dates_in_order(self) -> DataProcessingParams:
        """``min_customer_date`` comes before ``max_customer_date``."""
        if self.min_customer_date >= self.max_customer_date:
            raise ValueError(
                f"min_customer_date {self.min_customer_date} must come before "
                f"max_customer_date {self.max_customer_date}"
            )
        return self


# -------------------------------------------------------------- feature_engineering


class FeatureEngineeringParams(PipelineParams):
    """``parameters_feature_engineering.yml``."""

    KEY: ClassVar[str] = "feature_engineering"

    reference_date: date | None
    partner_statuses: list[str]
    model_features: Columns


# ------------------------------------------------------------------ model_selection


class ModelSelectionParams(PipelineParams):
    """``parameters_model_selection.yml``: the k sweep on a seeded sample."""

    KEY: ClassVar[str] = "model_selection"

    features: Columns
    k_min: Annotated[int, Field(ge=2)]
    k_max: Annotated[int, Field(ge=2)]
    algorithm: Literal["kmeans", "minibatch"]
    n_init: PositiveInt
    batch_size: PositiveInt
    random_state: NonNegativeInt
    sample_size: PositiveInt
    silhouette_sample_size: PositiveInt
    stability_sample_size: PositiveInt
    stability_resamples: PositiveInt
    stability_n_init: PositiveInt

    @model_validator(mode="after")
    def _range(self) -> ModelSelectionParams:
        """``k_max`` is not below ``k_min``."""
        if self.k_max < self.k_min:
            raise ValueError(f"k_max {self.k_max} is below k_min {self.k_min}")
        return self


# ----------------------------------------------------------------------- clustering


class DbscanParams(_Block):
    """``clustering.dbscan``."""

    min_samples: Annotated[int, Field(ge=2)]
    sample_size: PositiveInt
    scan_quantiles: Annotated[list[Fraction], Field(min_length=1)]
    blob_share: Share


class Behaviour(_Block):
    """How one behaviour is called and what to do about it."""

    label: Annotated[str, Field(min_length=1)]
    action: Annotated[str, Field(min_length=1)]


class Words(_Block):
    """Words for a column's high and low side (either may be absent: no word)."""

    high: str | None = Field(default=None)
    low: str | None = Field(default=None)


class NamingParams(_Block):
    """``clustering.naming``: thresholds and wording of the segment-naming rules."""

    high_z: Annotated[float, Field(gt=0)]
    low_z: Annotated[float, Field(lt=0)]
    behaviours: dict[str, Behaviour]
    prefixes: dict[str, Words]
    qualifiers: dict[str, Words]

    @model_validator(mode="after")
    def _covers_the_rules(self) -> NamingParams:
        """``behaviours`` has words for every behaviour the naming rules give
        (``schema.BEHAVIOURS``) and no other; ``prefixes`` and ``qualifiers`` name only columns
        the rules read (``schema.NAMING_COLUMNS``), and ``qualifiers`` has a high and a low word
        for each of them.
        """
        missing = [b for b in schema.BEHAVIOURS if b not in self.behaviours]
        if missing:
            raise ValueError(f"behaviours lacks {', '.join(missing)} (every rule needs words)")
        unknown = [b for b in self.behaviours if b not in schema.BEHAVIOURS]
        if unknown:
            raise ValueError(
                f"behaviours has unknown key(s) {', '.join(unknown)}; the rules give "
                f"{', '.join(schema.BEHAVIOURS)}"
            )
        for block in ("prefixes", "qualifiers"):
            odd = [c for c in getattr(self, block) if c not in schema.NAMING_COLUMNS]
            if odd:
                raise ValueError(f"{block} names column(s) the rules do not read: {', '.join(odd)}")
        lacking = [
            c
            for c in schema.NAMING_COLUMNS
            if c not in self.qualifiers or not (self.qualifiers[c].high and self.qualifiers[c].low)
        ]
        if lacking:
            raise ValueError(f"qualifiers lacks a high and a low word for {', '.join(lacking)}")
        return self


def _check_thresholds(thresholds: Mapping[str, float]) -> None:
    """Raise ``ValueError`` unless ``thresholds`` gives every mean Jaccard in [0, 1] one label:
    bounds in [0, 1], distinct, one of them 0.
    """
    bounds = list(thresholds.values())
    if not bounds:
        raise ValueError("stability thresholds are empty: give each label its lowest Jaccard")
    if any(not 0.0 <= b <= 1.0 for b in bounds):
        raise ValueError(f"stability thresholds must lie in [0, 1]: {dict(thresholds)}")
    if len(set(bounds)) != len(bounds):
        raise ValueError(f"two stability labels share a threshold: {dict(thresholds)}")
    if min(bounds) != 0.0:
        raise ValueError(
            f"no stability label starts at 0, so a low Jaccard would have none: {dict(thresholds)}"
        )


class MethodsParams(_Block):
    """``clustering.methods``: the density methods' settings of the methods comparison
    (``modeling.methods``).
    """

    hdbscan_min_cluster_share: Share
    hdbscan_min_samples: PositiveInt


class SegmentStabilityParams(_Block):
    """``clustering.segment_stability``: Hennig's cluster-wise bootstrap of each segment
    (``modeling.stability``).
    """

    resamples: PositiveInt
    n_init: PositiveInt
    sample_size: PositiveInt
    dissolution: Fraction
    recovery: Fraction
    thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]]

    @model_validator(mode="after")
    def _labels_cover_zero_to_one(self) -> SegmentStabilityParams:
        """``thresholds`` gives every mean Jaccard in [0, 1] one label: bounds in [0, 1], distinct,
        one of them 0.
        """
        _check_thresholds(self.thresholds)
        return self


class ClusteringParams(PipelineParams):
    """``parameters_clustering.yml``: k, the final K-Means, DBSCAN and segment naming."""

    KEY: ClassVar[str] = "clustering"

    features: Columns
    n_clusters: Annotated[int, Field(ge=2)] | Literal["auto"]
    algorithm: Literal["kmeans", "minibatch"]
    init: Literal["sweep", "k-means++"]
    n_init: PositiveInt
    batch_size: PositiveInt
    random_state: NonNegativeInt
    start_sample_size: Annotated[int, Field(ge=10)]
    max_iter: PositiveInt
    tol: Annotated[float, Field(ge=0)]
    silhouette_sample_size: PositiveInt
    dbscan: DbscanParams
    methods: MethodsParams
    naming: NamingParams
    segment_stability: SegmentStabilityParams


# ------------------------------------------------------------------------ reporting


class TsneParams(_Block):
    """``reporting.tsne``."""

    sample_size: Annotated[int, Field(ge=10)]
    perplexity: Annotated[float, Field(gt=0)]
    max_iter: Annotated[int, Field(ge=250)]


class EdaParams(_Block):
    """``reporting.eda``."""

    raw_columns: Columns
    engineered_columns: Columns
    correlation_columns: Annotated[Columns, Field(min_length=2)]
    correlation_sample_size: PositiveInt
    removed_reasons: dict[str, str]


class OutcomesParams(_Block):
    """``reporting.outcomes``: the campaign outcomes per segment (``outcomes``)."""

    z: Annotated[float, Field(gt=0)]


# rfm_score writes the three scores as one digit each.
RFM_MAX_LEVELS = 9


class RfmGroup(_Block):
    """One RFM group: the inclusive ``[low, high]`` range of each score."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]


def _check_rules(levels: int, rules: Sequence[RfmGroup], otherwise: str) -> None:
    """Raise ``ValueError`` unless the rules can be used: 2 to 9 levels (one digit each in
    ``rfm_score``), ranges ``[low, high]`` with ``1 <= low <= high <= levels``, group names
    unique and distinct from ``otherwise``.
    """
    if not 2 <= levels <= RFM_MAX_LEVELS:
        raise ValueError(f"levels must be 2 to {RFM_MAX_LEVELS}, got {levels}")
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names) or otherwise in names:
        raise ValueError(f"group names must be unique, otherwise ({otherwise!r}) among them")
    for rule in rules:
        for score, bounds in (("r", rule.r), ("f", rule.f), ("m", rule.m)):
            low, high = bounds
            if not 1 <= low <= high <= levels:
                raise ValueError(
                    f"group {rule.name!r}: {score} range [{low}, {high}] must lie in "
                    f"[1, {levels}] with low <= high"
                )


class RfmParams(_Block):
    """``reporting.rfm``: score levels (5: quintiles), the groups' rules in order (first match
    wins) and the name of customers no rule matches (``rfm``).
    """

    levels: int
    groups: Annotated[list[RfmGroup], Field(min_length=1)]
    otherwise: str

    @model_validator(mode="after")
    def _usable(self) -> RfmParams:
        """2 to 9 ``levels`` (one digit each in ``rfm_score``); each group's ranges ``[low, high]``
        with ``1 <= low <= high <= levels``; group names unique and distinct from ``otherwise``.
        """
        _check_rules(self.levels, self.groups, self.otherwise)
        return self


class ReportingParams(PipelineParams):
    """``parameters_reporting.yml``: samples and columns of the figures, profiles, report."""

    KEY: ClassVar[str] = "reporting"

    random_state: NonNegativeInt
    map_sample_size: PositiveInt
    histogram_bins: Annotated[int, Field(ge=2)]
    tsne: TsneParams
    eda: EdaParams
    profile_columns: Columns
    outcomes: OutcomesParams
    rfm: RfmParams
    figure_workers: NonNegativeInt


# ---------------------------------------------------------------------------------- app


class AppParams(PipelineParams):
    """``parameters_app.yml``: how the Streamlit server shares its work between sessions
    (read by ``serving.versions``; no pipeline uses it).
    """

    KEY: ClassVar[str] = "app"

    kept_versions: PositiveInt
    upload_workers: PositiveInt
    preview_rows: PositiveInt
    versions_refresh_seconds: Annotated[float, Field(ge=0)]


class PsiBands(_Block):
    """``monitoring.drift.psi``: below ``moderate`` stable, below ``major`` moderate."""

    moderate: Annotated[float, Field(gt=0)]
    major: Annotated[float, Field(gt=0)]

    @model_validator(mode="after")
    def _ordered(self) -> PsiBands:
        """``moderate`` is below ``major``."""
        if self.moderate >= self.major:
            raise ValueError(f"moderate {self.moderate} must be below major {self.major}")
        return self


class CramersVBands(_Block):
    """``monitoring.drift.cramers_v``: below ``moderate`` negligible, below ``large`` moderate."""

    moderate: Fraction
    large: Fraction

    @model_validator(mode="after")
    def _ordered(self) -> CramersVBands:
        """``moderate`` is below ``large``."""
        if self.moderate >= self.large:
            raise ValueError(f"moderate {self.moderate} must be below large {self.large}")
        return self


class DriftParams(_Block):
    """``monitoring.drift``: what a model keeps of its training data, and the verdicts."""

    bins: Annotated[int, Field(ge=2)]
    sample_size: PositiveInt
    psi: PsiBands
    cramers_v: CramersVBands


class MigrationParams(_Block):
    """``monitoring.migration``: when a matched pair of segments is still the same segment,
    and when two versions' customers are enough alike to be compared.
    """

    match_distance: Annotated[float, Field(gt=0)]
    same_customers_share: Annotated[float, Field(gt=0, le=1)]
    matched_share: Annotated[float, Field(ge=0, le=1)]


class MonitoringParams(PipelineParams):
    """``parameters_monitoring.yml``: drift of new customers (the ``scoring`` pipeline, and the
    reference the ``clustering`` pipeline keeps) and migration between model versions.
    """

    KEY: ClassVar[str] = "monitoring"

    random_state: NonNegativeInt
    drift: DriftParams
    migration: MigrationParams


PIPELINE_PARAMS: tuple[type[PipelineParams], ...] = (
    DataProcessingParams,
    FeatureEngineeringParams,
    ModelSelectionParams,
    ClusteringParams,
    ReportingParams,
    MonitoringParams,
)
# Every block of the configuration's parameters, by its key.
MODELS: dict[str, type[PipelineParams]] = {
    model.KEY: model for model in (*PIPELINE_PARAMS, AppParams)
}


def as_model(key: str, value: PipelineParams | dict[str, Any]) -> PipelineParams:
    """Pipeline ``key``'s parameters as its model: Kedro validates only the pipelines a run
    asks for, so a node may receive another pipeline's parameters as a plain dict.
    """
    model = MODELS[key]
    return value if isinstance(value, model) else model.model_validate(value)


def validate(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` (the configuration's parameters) with each pipeline's block as its model, as
    Kedro passes them to nodes; other keys unchanged. For tests, notebooks and the app.

    Raises:
        ParameterError: a block is invalid (every invalid key named).
    """
    validated = dict(raw)
    for key in MODELS:
        validated[key] = as_model(key, raw[key])
    return validated
