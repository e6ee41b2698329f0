"""Parameters as types: every value comes from conf/, and every pipeline's block is checked."""

from __future__ import annotations

import pytest
from conftest import raw_params
from pydantic import BaseModel

from customer_segmentation.params import MODELS, ParameterError, Words, validate

# Fields that may be absent on purpose: a side of a naming word that adds no word.
OPTIONAL = {(Words, "high"), (Words, "low")}


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for inner in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in found:
                found += _models(inner)
    return found


@pytest.mark.parametrize("model", MODELS.values(), ids=lambda m: m.KEY)
def test_no_parameter_has_a_default_in_code(model):
    """A default in code would be a second home for a value that lives in conf/."""
    defaults = [
        f"{inner.__name__}.{name}"
        for inner in _models(model)
        for name, field in inner.model_fields.items()
        if not field.is_required() and (inner, name) not in OPTIONAL
    ]
    assert not defaults, f"parameters with a default in code: {defaults}"


def test_the_configuration_validates_and_a_typo_is_named():
    validated = validate(raw_params())
    assert validated["clustering"].n_clusters == 6
    raw = raw_params()
    raw["clustering"]["n_cluster"] = 5  # a typo of n_clusters
    with pytest.raises(ParameterError, match="clustering.n_cluster = 5: Extra inputs"):
        validate(raw)
    raw = raw_params()
    raw["model_selection"]["k_max"] = 1
    with pytest.raises(ParameterError, match="model_selection.k_max = 1"):
        validate(raw)


@pytest.mark.parametrize(
    ("block", "change", "message"),
    [
        pytest.param(
            "reporting",
            {"rfm": {"groups": [{"name": "Champions", "r": [4, 6], "f": [4, 5], "m": [4, 5]}]}},
            r"'Champions': r range \[4, 6\] must lie in \[1, 5\]",
            id="an RFM score range beyond the levels",
        ),
        pytest.param(
            "reporting", {"rfm": {"levels": 10}}, "levels must be 2 to 9", id="RFM levels"
        ),
        pytest.param(
            "reporting",
            {"rfm": {"otherwise": "Champions"}},
            "group names must be unique",
            id="an RFM group named like otherwise",
        ),
        pytest.param(
            "clustering",
            {"segment_stability": {"thresholds": {"stable": 0.75, "weak": 0.5}}},
            "no stability label starts at 0",
            id="stability labels that leave low Jaccards unnamed",
        ),
    ],
)
def test_values_a_rule_cannot_use_are_refused_before_a_run(block, change, message):
    """The constraints on a parameter's values are part of its type: checked once, here."""
    raw = raw_params()
    for key, value in change.items():
        raw[block][key] = {**raw[block][key], **value}
    with pytest.raises(ParameterError, match=message):
        validate(raw)
