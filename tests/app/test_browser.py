"""End to end in a real browser: `streamlit run`, headless Chromium, every page as a person sees it.

Every page a test opens records its uncaught exceptions and console errors
(``app_load.PageErrors``); the test fails naming them, as it fails on an exception Streamlit
shows in the page or an error line in the server's log. Charts are checked as drawn: each page
has the chart elements it should (a vanished chart fails) and each holds marks (Vega's mark
items in its SVG, coloured pixels on its canvas; plotly's traces). A full-height screenshot of
each page goes to ``test-artifacts/`` (``predict.png``, ``score.png``, ``explore.png``,
``compare.png``); with ``DOCS_SCREENSHOTS=1`` a smaller copy of each also replaces the
documentation's in ``docs/assets/app/``.

One server per project (module-scoped fixtures), one browser per test. Under CI (``CI=true``)
a missing Chromium fails the run: CI must prove the app works in a browser. Elsewhere the tests
skip, deciding before any project is run or app started.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import model_projects
import pytest
from conftest import PROJECT_ROOT, REAL_FILES, real_file, required
from model_projects import NEWER_K, OLDER_K, copy_run, pipeline_tables

from customer_segmentation import schema
from customer_segmentation.serving.versions import ModelStore, ModelVersion


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
# Shared project fixture (session-scoped, built once for all modules).
two_versions_project = model_projects.two_versions_project

CHROMIUM = app_load.CHROMIUM
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
VIEWPORT = {"width": 1400, "height": 1000}
ANSWER_MS = 120_000  # the first prediction opens the Kedro session and loads the model
DRAW_S = 30  # a page's charts and images, once their elements are there, to draw
SHOT_MAX_PX = 16_000  # the tallest screenshot Chromium takes in one piece
# DOCS_SCREENSHOTS=1: each screenshot also goes, smaller, to the documentation's pages.
DOCS_SHOTS = PROJECT_ROOT / "docs" / "assets" / "app"
DOCS_SHOT_WIDTH = 1000  # px: a documentation page's width, and a few hundred KB per shot
DOCS_SHOT_COLOURS = 256  # a palette PNG: Streamlit's flat colours survive, a third the bytes
DOCS_SHOT_MAX_PX = 4000  # the copy shows a long page's top (the Explore page's first figures)
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
MAP_HEADING = "Where the customer sits on the segment map"
DIAMOND_MIN_PX = 40  # the customer's diamond (size 420) covers over a hundred pixels

# Streamlit's chart elements by their data-testid: st.vega_lite_chart, st.altair_chart and the
# built-in charts (st.bar_chart, ...) are Vega-Lite ("stArrowVegaLiteChart" in older Streamlit
# releases), st.plotly_chart is plotly. Every one on a page is counted and checked.
CHART_KINDS = {
    "stVegaLiteChart": "vega",
    "stArrowVegaLiteChart": "vega",
    "stPlotlyChart": "plotly",
}
CHARTS = ", ".join(f'[data-testid="{testid}"]' for testid in CHART_KINDS)
IMAGES = '[data-testid="stImage"] img'
# What Streamlit shows in place of an element whose script raised.
STREAMLIT_EXCEPTION = '[data-testid="stException"]'
# Streamlit's Vega theme draws axes, grid lines, labels and titles in greys (their channels
# within ~30 of each other); the marks are coloured. A canvas pixel whose channels spread
# this much is a mark's.
MARK_CHROMA = 64

# One chart element's state: its marks in SVG (Vega: the items of the groups of role "mark",
# not axes, legends or titles; plotly: the shapes of traces, a Sankey's links and nodes) and,
# per canvas, how many colours and how many coloured (mark) pixels it holds.
CHART_STATE_JS = """
(elements, chroma) => elements.map((element) => {
  const box = element.getBoundingClientRect();
  const count = (selector) => element.querySelectorAll(selector).length;
  const state = {
    testid: element.dataset.testid,
    width: Math.round(box.width),
    height: Math.round(box.height),
    vega_items: count("svg g.role-mark > :is(path, line, rect, circle, text, image)"),
    plotly_items: count(".main-svg .trace :is(path, rect)"),
    sankey_links: count(".main-svg path.sankey-link"),
    sankey_nodes: count(".main-svg rect.node-rect"),
    canvases: [],
  };
  for (const canvas of element.querySelectorAll("canvas")) {
    const found = {width: canvas.width, height: canvas.height, colours: 0, coloured: 0};
    const context = canvas.width && canvas.height ? canvas.getContext("2d") : null;
    if (context) {
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
        colours.add(((r * 256 + g) * 256 + b) * 256 + a);
        if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) >= chroma) found.coloured += 1;
      }
      found.colours = colours.size;
    }
    state.canvases.push(found);
  }
  return state;
})
"""

# Each image of the page: loaded, decoded and not of one colour.
IMAGE_STATE_JS = """
(images) => images.map((image) => {
  const caption = image.closest('[data-testid="stImage"]')
    ?.querySelector('[data-testid="stImageCaption"]')?.innerText ?? "";
  // colours: 0 not loaded, 1 of one colour, 2 more than one
  const state = {caption, src: image.src, width: image.naturalWidth, colours: 0};
  if (image.complete && image.naturalWidth > 0) {
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const pixels = new Uint32Array(
      context.getImageData(0, 0, canvas.width, canvas.height).data.buffer
    );
    state.colours = pixels.some((pixel) => pixel !== pixels[0]) ? 2 : 1;
  }
  return state;
})
"""

# Where the map's canvas shows the customer's diamond, in the page's viewport: the centre of
# its pixels. The diamond is filled gold (#ffd700) at the point mark's default opacity (0.7):
# yellow on the map's white or pale points (red and green high, blue low); no segment colour
# of the map's customers (opacity 0.45) or centroids comes that close to yellow.
DIAMOND_JS = """
(element) => {
  const canvas = element.querySelector("canvas");
  if (!canvas) return {pixels: 0, x: null, y: null, note: "the map has no canvas"};
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let sumX = 0, sumY = 0, n = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (a === 255 && r >= 230 && g >= 190 && g <= 240 && b <= 110) {
      sumX += (i / 4) % canvas.width;
      sumY += Math.floor(i / 4 / canvas.width);
      n += 1;
    }
  }
  if (!n) return {pixels: 0, x: null, y: null, note: "no gold pixel on the map's canvas"};
  const box = canvas.getBoundingClientRect();
  return {
    pixels: n,
    x: box.x + (sumX / n) * box.width / canvas.width,
    y: box.y + (sumY / n) * box.height / canvas.height,
    note: "",
  };
}
"""


def require_chromium() -> None:
    """Chromium must be there: fail under CI, skip elsewhere."""
    if CHROMIUM.exists():
        return
    required(f"{CHROMIUM} is absent (Debian: apt-get install chromium)", "browser")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, checked before any project is run or app started (every browser
    test asks for it first).
    """
    require_chromium()
    return CHROMIUM


@pytest.fixture(scope="session")
def server(
    chromium: Path, real_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """``streamlit run`` on a free localhost port, reading the real-data project copy; shared
    by the browser tests (one per session: they share one xdist worker, with other tests
    between them).
    """
    log = tmp_path_factory.mktemp("app_server") / "streamlit.log"
    with app_load.serving(real_project, log) as running:
        yield running


@pytest.fixture(scope="session")
def compare_server(
    chromium: Path, two_versions_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """``streamlit run`` on the project with two model versions (k=6, then k=5)."""
    log = tmp_path_factory.mktemp("compare_server") / "streamlit.log"
    with app_load.serving(two_versions_project, log) as running:
        yield running


@contextmanager
def app_page(server: Any, link: str | None = None) -> Iterator[Any]:
    """A page of headless Chromium (a browser of its own) on the app, once the Predict page's
    form is there, then on the page of the sidebar's ``link``; closed afterwards.

    The page's errors are recorded from the start. Leaving, the test fails naming them, any
    exception Streamlit shows in the page and any error line the server logged meanwhile; a
    test that failed inside gets the page's errors as a note of its own failure.
    """
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    logged = len(server.errors())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=app_load.CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            errors = app_load.PageErrors(page)
            try:
                page.goto(server.url)
                page.get_by_role("button", name=app_load.PREDICT).wait_for(timeout=ANSWER_MS)
                if link is not None:
                    page.get_by_role("link", name=link).click()
                yield page
            except BaseException as error:  # pytest.fail too: noted, then raised again
                if errors.errors:
                    error.add_note("The page's errors:\n" + "\n".join(errors.errors))
                raise
            shown = page.locator(STREAMLIT_EXCEPTION).all_inner_texts()
        finally:
            browser.close()
    problems = [
        *errors.errors,
        *(f"exception shown in the page: {text}" for text in shown),
        *(f"server log: {line}" for line in server.errors()[logged:]),
    ]
    allowed = "".join(f"\n(allowed: {seen})" for seen in errors.allowed)
    assert not problems, "the page went wrong:\n" + "\n".join(problems) + allowed


def drew(chart: dict[str, Any]) -> bool:
    """Whether a chart element (:data:`CHART_STATE_JS`) holds marks: mark items in its SVG, or
    a canvas of more than one colour with coloured (mark) pixels.
    """
    in_svg = chart["vega_items"] + chart["plotly_items"] + chart["sankey_links"]
    on_canvas = any(c["colours"] > 1 and c["coloured"] > 0 for c in chart["canvases"])
    return in_svg > 0 or on_canvas


def charts_drawn(page: Any, expected: Counter[str]) -> list[dict[str, Any]]:
    """The page's chart elements, in page order, once there are ``expected`` of each kind
    (``vega``, ``plotly``) and each, scrolled into view, drew its marks; fails naming what it
    found otherwise.
    """
    charts = page.locator(CHARTS)
    deadline = time.monotonic() + DRAW_S
    scrolled = False
    while True:
        states = charts.evaluate_all(CHART_STATE_JS, MARK_CHROMA)
        found = Counter(CHART_KINDS[s["testid"]] for s in states)
        if found == expected and not scrolled:
            for index in range(len(states)):
                charts.nth(index).scroll_into_view_if_needed()
            scrolled = True
            continue
        if found == expected and all(drew(s) for s in states):
            return states
        if time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    blank = [s for s in states if not drew(s)]
    pytest.fail(
        f"{page.url}: expected charts {dict(expected)}, found {dict(found)}; "
        f"{len(blank)} drew no marks: {blank}"
    )


def images_drawn(page: Any, expected: int) -> list[dict[str, Any]]:
    """The page's images, once there are ``expected`` and each, scrolled into view, is loaded
    and not of one colour; fails naming what it found otherwise.
    """
    images = page.locator(IMAGES)
    deadline = time.monotonic() + DRAW_S
    while images.count() != expected and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()
    while True:
        states = images.evaluate_all(IMAGE_STATE_JS)
        blank = [s for s in states if s["colours"] < 2]
        if len(states) == expected and not blank:
            return states
        if time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    pytest.fail(f"{page.url}: expected {expected} images, found {len(states)}; blank: {blank}")


def save_screenshot(page: Any, name: str, charts: Counter[str]) -> Path:
    """The whole page in ``test-artifacts/<name>``, its charts drawn. Streamlit scrolls its main
    block, not the document, so the viewport is made as tall as that block's content; the
    charts are checked again at that size before the shot.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)  # no tooltip over the page
    main = page.locator('[data-testid="stMain"]')
    for _ in range(2):  # the layout settles once the viewport holds all of it
        height = min(int(main.evaluate("main => main.scrollHeight")), SHOT_MAX_PX)
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    charts_drawn(page, charts)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        docs_copy(path, DOCS_SHOTS / name)
    return path


def docs_copy(shot: Path, target: Path) -> Path:
    """``shot`` scaled to :data:`DOCS_SHOT_WIDTH` wide and cut at :data:`DOCS_SHOT_MAX_PX`
    high, as an optimised palette PNG in ``target`` (the documentation's copy).
    """
    from PIL import Image  # noqa: PLC0415

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        height = round(rgb.height * DOCS_SHOT_WIDTH / rgb.width)
        small = rgb.resize((DOCS_SHOT_WIDTH, height), Image.Resampling.LANCZOS)
        small = small.crop((0, 0, DOCS_SHOT_WIDTH, min(height, DOCS_SHOT_MAX_PX)))
        small.quantize(DOCS_SHOT_COLOURS).save(target, optimize=True)
    return target


def hover_diamond(page: Any, map_chart: Any) -> tuple[dict[str, Any], str]:
    """The customer's diamond on the map (:data:`DIAMOND_JS`) and the tooltip the map shows
    with the mouse on it ("" when none shows).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: PLC0415

    map_chart.scroll_into_view_if_needed()
    diamond = map_chart.evaluate(DIAMOND_JS)
    if not diamond["pixels"]:
        return diamond, ""
    page.mouse.move(diamond["x"], diamond["y"])
    tooltip = page.locator("#vg-tooltip-element.visible")
    try:
        tooltip.wait_for(timeout=DRAW_S * 1000)
    except PlaywrightTimeout:
        return diamond, ""
    return diamond, tooltip.inner_text()


@pytest.mark.browser
def test_prediction_in_a_real_browser(chromium: Path, real_project: Path, server: Any):
    """Predict page: the pipeline's segment for a real customer, the pull chart and the map
    drawn, the customer's diamond on the map (its tooltip says so).
    """
    tables = pipeline_tables(real_project)
    customer = tables["customers"].iloc[CUSTOMER_ROW]
    expected = tables["customer_segments"].set_index(schema.ID).loc[customer[schema.ID]]
    bundle = ModelStore(real_project).load()
    name = bundle.segment_names()[int(expected["segment"])]
    age = int(bundle.reference_date.year - customer["Year_Birth"])

    with app_page(server) as page:
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
        page.get_by_role("heading", name=MAP_HEADING).wait_for(timeout=ANSWER_MS)
        pull, _ = charts_drawn(page, Counter(vega=2))
        diamond, tooltip = hover_diamond(
            page,
            page.get_by_role("heading", name=MAP_HEADING).locator(
                "xpath=following::*[@data-testid='stVegaLiteChart'][1]"
            ),
        )
        save_screenshot(page, "predict.png", Counter(vega=2))

    assert shown.strip() == f"Segment {int(expected['segment'])}: {name}", (
        f"the browser shows {shown!r} for customer {customer[schema.ID]}; the pipeline put it in "
        f"segment {int(expected['segment'])} ({name})"
    )
    features = len(bundle.card["features"])
    assert pull["vega_items"] == features, f"one bar per feature ({features}): {pull}"
    assert diamond["pixels"] >= DIAMOND_MIN_PX, f"no customer's diamond on the map: {diamond}"
    assert "this customer" in tooltip, (
        f"the mouse on the diamond ({diamond}) shows the tooltip {tooltip!r}, not the customer's"
    )


@pytest.mark.browser
def test_a_rejected_form_shows_the_contract_rule_in_a_real_browser(chromium: Path, server: Any):
    with app_page(server) as page:
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


@pytest.mark.browser
def test_score_page_draws_the_segment_distribution(chromium: Path, real_project: Path, server: Any):
    """Score page, the real table uploaded: the distribution bar chart, a bar per segment."""
    k = ModelStore(real_project).load().k
    with app_page(server, "Score a file") as page:
        page.locator("input[type=file]").set_input_files(str(real_file(REAL_FILES[0])))
        page.get_by_role("heading", name="Scored customers").wait_for(timeout=ANSWER_MS)
        (distribution,) = charts_drawn(page, Counter(vega=1))
        save_screenshot(page, "score.png", Counter(vega=1))

    assert distribution["vega_items"] == k, f"one bar per segment ({k}): {distribution}"


@pytest.mark.browser
def test_explore_page_shows_every_figure(chromium: Path, real_project: Path, server: Any):
    """Explore page: no chart element, and every figure of the version as a drawn image."""
    store = ModelStore(real_project)
    version = ModelVersion(store)
    figures = [name for name in store.figure_names() if version.holds(name)]
    with app_page(server, "Explore segments") as page:
        page.get_by_text("The full model card").wait_for(timeout=ANSWER_MS)
        charts_drawn(page, Counter())
        images = images_drawn(page, len(figures))
        save_screenshot(page, "explore.png", Counter())

    assert len(images) == len(figures) > 0, (images, figures)


@pytest.mark.browser
def test_compare_page_draws_the_heat_map_and_the_sankey(chromium: Path, compare_server: Any):
    """Compare page (k=6, then k=5): the heat map, a cell and its count per pair of segments;
    the Sankey, a node per segment of either version and its flows.
    """
    with app_page(compare_server, "Compare versions") as page:
        page.get_by_role("heading", name="The flows").wait_for(timeout=ANSWER_MS)
        heat_map, sankey = charts_drawn(page, Counter(vega=1, plotly=1))
        save_screenshot(page, "compare.png", Counter(vega=1, plotly=1))

    cells = OLDER_K * NEWER_K
    assert heat_map["vega_items"] == 2 * cells, f"{cells} cells, each with its count: {heat_map}"
    assert sankey["sankey_nodes"] == OLDER_K + NEWER_K, f"a node per segment: {sankey}"
    assert sankey["sankey_links"] >= max(OLDER_K, NEWER_K), f"every segment's flow: {sankey}"


class _Page:
    """A stand-in for a Playwright page: what ``PageErrors`` listens to."""

    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}

    def on(self, event: str, handler: Any) -> None:
        self.handlers[event] = handler


def test_page_errors_name_every_error_but_the_explained_ones():
    """Uncaught exceptions and console errors are named; only the favicon Streamlit fetches
    from Google's CDN is allowed (kept apart, not dropped); console warnings are no errors.
    """
    page = _Page()
    errors = app_load.PageErrors(page)
    page.handlers["pageerror"](SimpleNamespace(name="Error", message='Duplicate signal name: "x"'))

    def console(kind: str, text: str, url: str) -> None:
        page.handlers["console"](SimpleNamespace(type=kind, text=text, location={"url": url}))

    unreachable = "Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
    icon = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/groups/default/24px.svg"
    font = "https://fonts.gstatic.com/s/sourcesans3/v1/font.woff2"
    console("warning", 'WARN Infinite extent for field "pull_start"', "http://app/embed.js")
    console("error", unreachable, icon)
    console("error", unreachable, font)
    console("error", "TypeError: a is undefined", "http://app/index.js")

    assert errors.errors == [
        'pageerror: Error: Duplicate signal name: "x"',
        f"console error: {unreachable} @ {font}",
        "console error: TypeError: a is undefined @ http://app/index.js",
    ]
    assert errors.allowed == [f"{unreachable} @ {icon}"]


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
    (a project no server has opened). Every one gets a segment; neither the server nor any
    page logs an error.
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
    page_errors = [e for r in results for e in r["page_errors"]]
    assert not page_errors, "\n".join(page_errors)
