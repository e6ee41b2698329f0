"""End to end in a real browser: `streamlit run`, headless Chromium, fill the form, read the answer.

Under CI (``CI=true``) a missing Chromium fails the run: CI must prove the app works in a
browser. Elsewhere the tests skip, deciding before the app is started.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import PROJECT_ROOT
from model_projects import copy_run, pipeline_tables

from customer_segmentation import schema
from customer_segmentation.serving.versions import ModelStore


def _app_load() -> ModuleType:
    """``benchmarks/app_load.py``: the server and the browser sessions the load benchmark
    drives; the tests drive the same ones.
    """
    path = PROJECT_ROOT / "benchmarks" / "app_load.py"
    spec = importlib.util.spec_from_file_location("app_load", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


app_load = _app_load()
CHROMIUM = app_load.CHROMIUM
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ANSWER_MS = 120_000  # the first prediction opens the Kedro session and loads the model
CUSTOMER_ROW = 42
CONCURRENT_SESSIONS = 4
FIELDS = {  # form label -> column of the clean customer table
    "Yearly household income": "Income",
    "Days since the last purchase": "Recency",
    "Wine": "MntWines",
    "Fruit": "MntFruits",
    "Meat": "MntMeatProducts",
    "Fish": "MntFishProducts",
    "Sweets": "MntSweetProducts",
    "Gold": "MntGoldProds",
    "Purchases with a discount": "NumDealsPurchases",
    "Web purchases": "NumWebPurchases",
    "Catalogue purchases": "NumCatalogPurchases",
    "Store purchases": "NumStorePurchases",
    "Web visits per month": "NumWebVisitsMonth",
}


def require_chromium() -> None:
    """Chromium must be there: fail under CI, skip elsewhere."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is absent (Debian: apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run the browser tests")
    pytest.skip(f"{message}; browser test skipped outside CI")


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium, checked before any app is started."""
    require_chromium()
    return CHROMIUM


@pytest.fixture
def server(chromium: Path, real_project: Path, tmp_path: Path) -> Iterator[Any]:
    """``streamlit run`` on a free localhost port, reading the real-data project copy."""
    with app_load.serving(real_project, tmp_path / "streamlit.log") as running:
        yield running


@pytest.fixture
def app_server(server: Any) -> str:
    """The running app's address."""
    return server.url


@contextmanager
def app_page(url: str) -> Iterator[Any]:
    """A page of headless Chromium on the app, once the form is there; closed afterwards."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=app_load.CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("button", name=app_load.PREDICT).wait_for(timeout=ANSWER_MS)
            yield page
        finally:
            browser.close()


@pytest.mark.browser
def test_prediction_in_a_real_browser(real_project: Path, app_server: str):
    tables = pipeline_tables(real_project)
    customer = tables["customers"].iloc[CUSTOMER_ROW]
    expected = tables["customer_segments"].set_index(schema.ID).loc[customer[schema.ID]]
    bundle = ModelStore(real_project).load()
    name = bundle.segment_names()[int(expected["segment"])]
    age = int(bundle.reference_date.year - customer["Year_Birth"])
    ARTIFACTS.mkdir(exist_ok=True)

    with app_page(app_server) as page:
        age_box = page.get_by_label(f"Age (at {bundle.reference_date.date()})", exact=True)
        age_box.fill(str(age))
        age_box.press("Tab")
        for label, column in FIELDS.items():
            box = page.get_by_label(label, exact=True)
            box.fill(f"{customer[column]:g}")
            box.press("Tab")
        page.get_by_role("button", name=app_load.PREDICT).click()
        heading = page.locator(app_load.ANSWER)
        heading.wait_for(timeout=ANSWER_MS)
        shown = heading.inner_text()
        page.get_by_text("Where the customer sits on the segment map").wait_for(timeout=ANSWER_MS)
        heading.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "predict_customer.png"))

    assert shown.strip() == f"Segment {int(expected['segment'])}: {name}", (
        f"the browser shows {shown!r} for customer {customer[schema.ID]}; the pipeline put it in "
        f"segment {int(expected['segment'])} ({name})"
    )


@pytest.mark.browser
def test_a_rejected_form_shows_the_contract_rule_in_a_real_browser(app_server: str):
    with app_page(app_server) as page:
        page.get_by_text("Birth year", exact=True).click()
        birth = page.get_by_role("spinbutton", name="Birth year")
        birth.wait_for(timeout=ANSWER_MS)
        birth.fill("1890")
        birth.press("Tab")
        page.get_by_role("button", name=app_load.PREDICT).click()
        alert = page.get_by_text("The data contract refuses this customer")
        alert.wait_for(timeout=ANSWER_MS)
        shown = alert.inner_text()
        headings = page.locator(app_load.ANSWER).count()

    assert "Birth year 1890 is before 1901" in shown, shown
    assert "birth_year_out_of_range" in shown, shown
    assert headings == 0, "a refused customer gets no segment"


def test_ci_cannot_skip_the_browser_tests(monkeypatch, tmp_path):
    """Without Chromium the browser tests fail under CI=true and skip elsewhere."""
    import test_browser  # noqa: PLC0415 - this module, to point it at a missing browser

    monkeypatch.setattr(test_browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests"):
        require_chromium()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="skipped outside CI"):
        require_chromium()


@pytest.mark.browser
def test_sessions_opening_together_on_a_cold_server_all_get_their_answer(
    chromium: Path, real_project: Path, tmp_path: Path
):
    """The race that lost users: several sessions at once on a server that has loaded nothing
    (a project no server has opened). Every one gets a segment; the server logs no error.
    """
    project = copy_run(real_project, tmp_path / "project")
    names = ModelStore(project).load().segment_names()
    with app_load.serving(project, tmp_path / "streamlit.log") as server:
        results = asyncio.run(app_load.sessions_at_once(server.url, CONCURRENT_SESSIONS))
        errors = server.errors()

    answered = [r.get("segment", r.get("error")) for r in results]
    expected = {f"Segment {s}: {name}" for s, name in names.items()}
    assert all(a in expected for a in answered), answered
    assert len(answered) == CONCURRENT_SESSIONS
    assert not errors, "\n".join(errors)
