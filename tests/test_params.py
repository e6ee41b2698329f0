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
