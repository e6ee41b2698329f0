"""The contract built once (``contract/apply.py``): one object per columns and parameters,
whose rules and compiled plans every later file and row reuse."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import REAL_FILES, changed, real_file
from contract_api import RawCustomerFile, prepare_customers

from customer_segmentation import schema
from customer_segmentation.core.contract import apply, check_rows, rules
from customer_segmentation.core.contract.apply import contract_for
from customer_segmentation.serving.form import form_table

COLUMNS = tuple(schema.KAGGLE_COLUMNS)


def test_the_same_columns_and_parameters_give_the_same_contract(params):
    settings = params["data_processing"]
    first = contract_for(COLUMNS, settings)

    assert contract_for(COLUMNS, settings) is first
    assert contract_for(COLUMNS, changed(settings)) is first, "equal parameters, same contract"
    assert contract_for(COLUMNS, changed(settings, max_income=123_456)) is not first
    assert contract_for(COLUMNS[:-1], settings) is not first


def test_the_rules_are_built_once_for_every_file_of_the_same_columns(monkeypatch, params):
    built = []
    original = rules.rule_list

    def counted(*args, **kwargs):
        built.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(apply.rules, "rule_list", counted)
    settings = changed(params["data_processing"], max_income=199_999)  # a contract of its own
    content = real_file(REAL_FILES[0]).read_bytes()

    for name in ("a.csv", "b.csv", "c.csv"):
        prepare_customers(RawCustomerFile(name, content), settings)

    assert len(built) == 1, f"the rules were built {len(built)} times"


def test_rows_of_one_reading_reuse_one_compiled_plan(params):
    """Two form rows written alike (the same facts: date order and shapes, number forms) run
    the plans compiled for the first.
    """
    settings = changed(params["data_processing"], max_income=199_998)  # a contract of its own
    real = pd.read_csv(real_file(REAL_FILES[0]), dtype=str, keep_default_na=False)
    when = pd.Timestamp("2014-12-31")
    tables = [
        form_table({c: real.loc[i, c] for c in schema.KAGGLE_COLUMNS if c != schema.ID}, when)
        for i in (0, 1)
    ]
    check_rows(tables[0], "the form", settings)
    contract = contract_for(tuple(c for c in tables[0].columns if c != "source_row"), settings)
    compiled = dict(contract._plans)
    sizes = {key: len(plan._plans) for key, plan in compiled.items()}

    check_rows(tables[1], "the form", settings)

    assert contract._plans.keys() == compiled.keys(), "no plan compiled for the second row"
    assert all(contract._plans[key] is plan for key, plan in compiled.items())
    assert sizes == {key: len(compiled[key]._plans) for key in sizes}


@pytest.mark.parametrize("columns", [COLUMNS, COLUMNS[::-1]], ids=["in_order", "reversed"])
def test_a_contract_holds_every_rule_in_reason_order(columns, params):
    contract = contract_for(columns, params["data_processing"])

    assert [r.code for r in contract.rules[:2]] == list(rules.LINE_RULES), "line rules first"
    assert len(contract.masks) == len(contract.rules)
    assert set(contract.present) == set(columns)
