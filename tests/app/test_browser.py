"""End to end in a real browser: `streamlit run`, headless Chromium, fill the form, read the answer.

Under CI (``CI=true``) a missing Chromium fails the run: CI must prove the app works in a
browser. Elsewhere the tests skip, deciding before the app is started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_ROOT
from model_projects import pipeline_tables

from customer_segmentation import schema
from customer_segmentation.model_store import PROJECT_ENV_VAR, ModelStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENTRY = PROJECT_ROOT / "app" / "streamlit_app.py"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SERVER_START_SECONDS = 90
ANSWER_MS = 120_000  # the first prediction opens the Kedro session and loads the model
CUSTOMER_ROW = 42
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {SERVER_START_SECONDS} s:\n{log.read_text()}")


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
def app_server(chromium: Path, real_project: Path, tmp_path: Path):
    """`streamlit run` on a free localhost port, reading the real-data project copy."""
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {**os.environ, PROJECT_ENV_VAR: str(real_project), "KEDRO_DISABLE_TELEMETRY": "1"}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ENTRY),
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def app_page(url: str) -> Iterator[Any]:
    """A page of headless Chromium on the app, once the form is there; closed afterwards."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("button", name="Predict segment").wait_for(timeout=ANSWER_MS)
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
        page.get_by_role("button", name="Predict segment").click()
        heading = page.locator(".st-key-prediction h3")
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
        page.get_by_role("button", name="Predict segment").click()
        alert = page.get_by_text("The data contract refuses this customer")
        alert.wait_for(timeout=ANSWER_MS)
        shown = alert.inner_text()
        headings = page.locator(".st-key-prediction h3").count()

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
