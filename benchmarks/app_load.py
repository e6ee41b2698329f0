"""Load benchmark of the Streamlit app: a marketing team's sessions at once, in a real browser.

For every ``--sessions N``:

1. **cold**: start ``streamlit run app/streamlit_app.py`` on a free port (a new server: nothing
   loaded), open N headless Chromium sessions at the same moment, and in each wait for the
   Predict page's form (*page ready*), press *Predict segment* and wait for the answer;
2. **warm**: N sessions again on the same server, now that it has loaded everything once.

With ``--upload FILE`` a last, warm scenario runs ``--uploaders`` sessions uploading FILE on the
Score page while N sessions predict. With ``--calibrate`` the same sessions drive
``benchmarks/minimal_app.py`` (a form and a heading): on a machine whose cores the browsers share
with the server, its figures are the floor no page can beat.

Two answer times: *sent*, when the server's message holding the answer reaches the browser (the
server's own responsiveness), and *shown*, when the browser has drawn it. Every scenario prints page-ready and answer times (median,
max), how many sessions got their answer, the server's errors (log lines with a traceback or
an error) and the server's peak memory (its process tree, sampled); the results also list the
pages' own errors (uncaught exceptions and console errors in the browsers). Results go to
``benchmarks/results/app_load.{json,md}``.

The project must hold a trained model: ``--project PATH``, or by default a copy of this
repository trained on ``--customers`` (the real table beside the clone when it is there).

    python benchmarks/app_load.py --sessions 1 --sessions 8 --sessions 16
    python benchmarks/app_load.py --sessions 8 --upload /tmp/upload_50mb.csv --uploaders 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
# Issue 28: with N sessions at once, the app's median answer may slow (against one session) at
# most this many times what the calibration page (a form, no model) slows with the same N.
SLOWDOWN_TARGET = 1.25
ENTRY = REPO / "app" / "streamlit_app.py"
MINIMAL = REPO / "benchmarks" / "minimal_app.py"
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
    "--disable-dev-shm-usage",
]
SERVER_START_SECONDS = 90
WAIT_MS = 300_000  # one session's patience for a page or an answer
PREDICT = "Predict segment"
ANSWER = ".st-key-prediction h3"
ANSWER_TEXT = b"Segment "  # the answer's heading, in the server's message
# What Streamlit shows in place of a page when the script failed.
FAILURE = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# Lines of the server's log that mean something went wrong for a user.
ERROR_LINES = re.compile(r"Traceback|Error|Exception")
# Console errors of a page that are outside the app's control, each matched on
# "<message> @ <url of its source>" and allowed for the reason beside it. Nothing else is.
ALLOWED_CONSOLE_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"^Failed to load resource: .* @ "
            r"https://fonts\.gstatic\.com/s/i/short-term/release/materialsymbols\w*/groups/"
        ),
        # st.set_page_config(page_icon=":material/groups:"): Streamlit's page fetches the tab's
        # icon (the favicon) from Google's font CDN. A machine without Internet access (CI
        # runners, sandboxes) cannot reach it and Chromium logs the failed fetch; the page and
        # its charts do not depend on it.
        "the tab icon, fetched by Streamlit from Google's font CDN, is out of reach offline",
    ),
)
MB = 1024 * 1024


def free_port() -> int:
    """A free localhost port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``streamlit run`` of the app on a free port, reading ``project``; its log and memory."""

    def __init__(self, project: Path, log: Path, entry: Path = ENTRY) -> None:
        """Start the server of ``entry`` and wait until it answers its health check."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {
            **os.environ,
            "CUSTOMER_SEGMENTATION_PROJECT": str(project),
            "KEDRO_DISABLE_TELEMETRY": "1",
        }
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(entry),
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
        ]
        with log.open("w") as sink:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        self.peak_mb = 0.0
        # (time, the server's CPU seconds, the whole machine's busy CPU seconds)
        self.cpu: list[tuple[float, float, float]] = []
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self._wait_healthy()

    def _sample(self) -> None:
        parent = psutil.Process(self.process.pid)
        while not self._sampling.wait(0.1):
            try:
                members = [parent, *parent.children(recursive=True)]
                rss = sum(m.memory_info().rss for m in members if m.is_running())
                used = sum(sum(m.cpu_times()[:2]) for m in members if m.is_running())
            except psutil.Error:
                continue
            machine = psutil.cpu_times()
            self.cpu.append((time.perf_counter(), used, machine.user + machine.system))
            self.peak_mb = max(self.peak_mb, rss / MB)

    def cpu_between(self, start: float, end: float) -> tuple[float, float]:
        """CPU seconds the server, and everything else on the machine (the browsers), used
        between ``start`` and ``end`` (``time.perf_counter``), from the samples around them.
        """
        inside = [s for s in self.cpu if start - 0.1 <= s[0] <= end + 0.1]
        if len(inside) < 2:
            return float("nan"), float("nan")
        server = inside[-1][1] - inside[0][1]
        return server, inside[-1][2] - inside[0][2] - server

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"streamlit exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"streamlit did not answer in {SERVER_START_SECONDS} s")

    def errors(self) -> list[str]:
        """The log's lines that show an error or a traceback."""
        return [line for line in self.log.read_text().splitlines() if ERROR_LINES.search(line)]

    def stop(self) -> None:
        """Stop the server and its memory sampling."""
        self._sampling.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def serving(project: Path, log: Path, entry: Path = ENTRY) -> Iterator[Server]:
    """A running :class:`Server`, stopped afterwards."""
    server = Server(project, log, entry)
    try:
        yield server
    finally:
        server.stop()


class Rendezvous:
    """Sessions press Predict together: once each of ``sessions`` has either arrived (its form
    is there) or left (its page failed), the ones that arrived go on.
    """

    def __init__(self, sessions: int) -> None:
        """Expect ``sessions`` sessions."""
        self._waiting = sessions
        self._all_in = asyncio.Event()

    def _count_one(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._all_in.set()

    async def arrive(self) -> None:
        """Wait until every session has arrived or left."""
        self._count_one()
        await self._all_in.wait()

    def leave(self) -> None:
        """A session that will not arrive."""
        self._count_one()


def watch_answer(socket: Any, sent: list[float]) -> None:
    """Note when a frame from the server holding an answer (its heading, ``Segment ...``)
    reaches the browser: the server's answer time, before the browser draws anything.
    """

    def received(payload: str | bytes) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        if ANSWER_TEXT in data:
            sent.append(time.perf_counter())

    socket.on("framereceived", received)


class PageErrors:
    """What a browser page reports as broken while it is open: uncaught exceptions
    (``pageerror``) and console messages of type ``error``, but for those
    :data:`ALLOWED_CONSOLE_ERRORS` explains (kept apart in ``allowed``, not dropped).
    Works on Playwright's sync and async pages alike (the handlers are plain callbacks).
    """

    def __init__(self, page: Any) -> None:
        """Start recording ``page``'s errors."""
        self.errors: list[str] = []
        self.allowed: list[str] = []
        page.on("pageerror", self._uncaught)
        page.on("console", self._console)

    def _uncaught(self, error: Any) -> None:
        self.errors.append(f"pageerror: {error.name}: {error.message}")

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        seen = f"{message.text} @ {message.location.get('url', '')}"
        if any(pattern.search(seen) for pattern, _ in ALLOWED_CONSOLE_ERRORS):
            self.allowed.append(seen)
        else:
            self.errors.append(f"console error: {seen}")


class SessionFailed(RuntimeError):
    """The page showed an error instead of the app."""


async def form_or_failure(page: Any) -> Any:
    """The Predict button once the form is there; a page that shows an error or an exception
    instead fails at once (not after the timeout).
    """
    button = page.get_by_role("button", name=PREDICT)
    failure = page.locator(FAILURE)
    await button.or_(failure).first.wait_for(timeout=WAIT_MS)
    if await failure.count():
        raise SessionFailed((await failure.first.inner_text()).strip().splitlines()[0])
    return button


async def predict_session(browser: Any, url: str, together: Rendezvous) -> dict[str, Any]:
    """One marketer: open the app, wait for the form, predict, wait for the answer. The
    sessions open the page together and, once every form is there, press Predict together
    (``together``), so each answer is timed against the others' answers, not their page loads.
    """
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    errors = PageErrors(page)
    result: dict[str, Any] = {"answered": False, "page_errors": errors.errors}
    arrived = False
    sent: list[float] = []  # when the server's frames holding the answer reached the browser
    page.on("websocket", lambda socket: watch_answer(socket, sent))
    try:
        started = time.perf_counter()
        await page.goto(url)
        button = await form_or_failure(page)
        result["page_ready_s"] = time.perf_counter() - started
        arrived = True
        await together.arrive()
        pressed = time.perf_counter()
        await button.click()
        heading = page.locator(ANSWER)
        await heading.wait_for(timeout=WAIT_MS)
        result["answered_at"] = time.perf_counter()
        result["pressed_at"] = pressed
        result["answer_s"] = result["answered_at"] - pressed
        result["answer_sent_s"] = min(t for t in sent if t >= pressed) - pressed
        result["segment"] = (await heading.inner_text()).strip()
        result["answered"] = result["segment"].startswith("Segment ")
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        if not arrived:
            together.leave()  # the others do not wait for a session that will never press
    finally:
        await context.close()
    return result


async def upload_session(browser: Any, url: str, upload: Path) -> dict[str, Any]:
    """One marketer uploading a file on the Score page and waiting for the scored table."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    errors = PageErrors(page)
    result: dict[str, Any] = {"scored": False, "page_errors": errors.errors}
    try:
        await page.goto(url)
        await form_or_failure(page)
        await page.get_by_role("link", name="Score a file").click()
        chooser = page.locator("input[type=file]")
        await chooser.wait_for(state="attached", timeout=WAIT_MS)
        started = time.perf_counter()
        await chooser.set_input_files(str(upload))
        await page.get_by_text("Segment distribution").wait_for(timeout=WAIT_MS)
        result["upload_s"] = time.perf_counter() - started
        result["scored"] = True
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        await context.close()
    return result


async def sessions_at_once(
    url: str, sessions: int, upload: Path | None = None, uploaders: int = 0
) -> list[dict[str, Any]]:
    """``sessions`` predicting (and ``uploaders`` uploading) sessions started together."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - the test extra

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            together = Rendezvous(sessions)
            tasks = [predict_session(browser, url, together) for _ in range(sessions)]
            if upload is not None:
                tasks += [upload_session(browser, url, upload) for _ in range(uploaders)]
            return list(await asyncio.gather(*tasks))
        finally:
            await browser.close()


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, medians and maxima of one scenario's sessions."""
    predicting = [r for r in results if "answered" in r]
    uploading = [r for r in results if "scored" in r]

    def stats(key: str, rows: list[dict[str, Any]]) -> dict[str, float | None]:
        values = [r[key] for r in rows if key in r]
        if not values:
            return {"median": None, "max": None}
        return {"median": statistics.median(values), "max": max(values)}

    return {
        "sessions": len(predicting),
        "answered": sum(r["answered"] for r in predicting),
        "page_ready_s": stats("page_ready_s", predicting),
        "answer_s": stats("answer_s", predicting),
        "answer_sent_s": stats("answer_sent_s", predicting),
        "uploads": len(uploading),
        "uploads_scored": sum(r["scored"] for r in uploading),
        "upload_s": stats("upload_s", uploading),
        "session_errors": sorted({r["error"] for r in results if "error" in r}),
        "page_errors": sorted({e for r in results for e in r["page_errors"]}),
    }


def run_scenario(
    server: Server,
    name: str,
    sessions: int,
    upload: Path | None = None,
    uploaders: int = 0,
    rounds: int = 1,
) -> dict[str, Any]:
    """One scenario on ``server``, ``rounds`` times in a row (its medians over every session of
    every round); the server's errors and peak memory during it.
    """
    before = len(server.errors())
    server.peak_mb = 0.0
    extra = f" + {uploaders} upload(s)" if uploaders else ""
    print(f"[{name}] {sessions} session(s){extra}, {rounds} round(s) …")
    results, cpu, phases = [], [], []
    for _ in range(rounds):
        found = asyncio.run(sessions_at_once(server.url, sessions, upload, uploaders))
        results += found
        pressed = [r["pressed_at"] for r in found if "pressed_at" in r]
        answered = [r["answered_at"] for r in found if "answered_at" in r]
        if answered:
            spent = server.cpu_between(min(pressed), max(answered))
            cpu.append(tuple(s / len(answered) for s in spent))
            phases.append(max(answered) - min(pressed))
    found = summary(results)
    found.update(
        sessions=sessions,
        rounds=rounds,
        answer_phase_s=statistics.median(phases) if phases else math.nan,
        server_cpu_per_answer_s=statistics.mean(c[0] for c in cpu) if cpu else math.nan,
        browser_cpu_per_answer_s=statistics.mean(c[1] for c in cpu) if cpu else math.nan,
        scenario=name,
        server_errors=server.errors()[before:],
        server_peak_mb=server.peak_mb,
        segments=sorted({r["segment"] for r in results if r.get("segment")}),
    )
    return found


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per scenario."""
    lines = [
        "| scenario | sessions x rounds | answered | page ready median / max (s) "
        "| answer sent median / max (s) | answer shown median / max (s) "
        "| CPU per answer: server / browsers (s) | uploads scored, median (s) | server errors "
        "| server peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        uploads = (
            f"{row['uploads_scored']}/{row['uploads']}, {_seconds(row['upload_s']['median'])}"
            if row["uploads"]
            else ""
        )
        lines.append(
            f"| {row['scenario']} | {row['sessions']} x {row.get('rounds', 1)} | "
            f"{row['answered']}/{row['sessions'] * row.get('rounds', 1)} | "
            f"{_seconds(row['page_ready_s']['median'])} / {_seconds(row['page_ready_s']['max'])} | "
            f"{_seconds(row['answer_sent_s']['median'])} / {_seconds(row['answer_sent_s']['max'])} | "
            f"{_seconds(row['answer_s']['median'])} / {_seconds(row['answer_s']['max'])} | "
            f"{_seconds(row['server_cpu_per_answer_s'])} / "
            f"{_seconds(row['browser_cpu_per_answer_s'])} | "
            f"{uploads} | {len(row['server_errors'])} | {row['server_peak_mb']:,.0f} |"
        )
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, judged on this run's figures."""
    lines = []
    by_name = {row["scenario"]: row for row in rows}
    for row in rows:
        if row["scenario"].startswith("cold"):
            ok = row["answered"] == row["sessions"] * row["rounds"] and not row["server_errors"]
            lines.append(
                f"{row['scenario']}: {row['answered']}/{row['sessions'] * row['rounds']} answered, "
                f"{len(row['server_errors'])} server errors: {'met' if ok else 'NOT met'}"
            )
    lone = by_name.get("warm, 1 session")
    floor = by_name.get("minimal page, 1 session")
    for row in rows:
        n = row["sessions"]
        calibration = by_name.get(f"minimal page, {n} sessions")
        if not (lone and floor and calibration) or not row["scenario"].startswith("warm"):
            continue
        if n < 2 or "upload" in row["scenario"]:
            continue
        for key, what in (("answer_sent_s", "sent"), ("answer_s", "shown")):
            app = row[key]["median"] / lone[key]["median"]
            page = calibration[key]["median"] / floor[key]["median"]
            verdict = "met" if app / page <= SLOWDOWN_TARGET else "NOT met"
            lines.append(
                f"{row['scenario']}: median answer {what} {app:.1f}x a lone session's; the "
                f"calibration page {page:.1f}x; the app {app / page:.2f}x the calibration's "
                f"slowdown ({verdict} for <= {SLOWDOWN_TARGET}x)"
            )
    return lines


def trained_project(customers: Path, work: Path) -> Path:
    """A copy of this project trained on ``customers`` (``kedro run``) in ``work``."""
    run = _sibling("run")
    project = run.copy_project(work / "app_load_project")
    done = subprocess.run(
        [*run.kedro_command(), "run", "--params", f"raw_customers_path={customers}"],
        cwd=project,
        env=run.child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return project


def _sibling(name: str) -> Any:
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", Path(__file__).with_name(f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, action="append", help="repeatable")
    parser.add_argument("--project", type=Path, help="a trained project (default: train a copy)")
    parser.add_argument(
        "--customers",
        type=Path,
        default=REPO.parent / "shared" / "data" / "customer_segmentation.csv",
        help="the table a copy is trained on when --project is not given",
    )
    parser.add_argument("--upload", type=Path, help="a file to upload while sessions predict")
    parser.add_argument("--uploaders", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="warm and calibration scenarios run this many times (medians over all rounds)",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="also drive benchmarks/minimal_app.py the same way (the browsers' own share)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "customer_segmentation_app_load",
    )
    parser.add_argument("--results-dir", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is absent: apt-get install chromium")
    sizes = args.sessions or [1, 8, 16]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    if args.project is None:
        customers = args.customers if args.customers.exists() else None
        if customers is None:
            customers = REPO / "data" / "01_raw" / "demo_customers.csv"
        print(f"training a project copy on {customers} …")
        project = trained_project(customers.resolve(), args.work_dir)
    else:
        project = args.project.resolve()

    rows = []
    for n in sizes:
        sessions = f"{n} session{'s' if n > 1 else ''}"
        with serving(project, args.work_dir / f"server_{n}.log") as server:
            scenarios = [(f"cold, {sessions}", None), (f"warm, {sessions}", None)]
            if args.upload is not None and n == max(sizes):
                scenarios.append((f"warm, {sessions} + {args.uploaders} uploads", args.upload))
            for name, upload in scenarios:
                uploaders = args.uploaders if upload is not None else 0
                rounds = 1 if name.startswith("cold") else args.rounds
                rows.append(run_scenario(server, name, n, upload, uploaders, rounds))
                print(table(rows[-1:]), flush=True)
    if args.calibrate:
        with serving(project, args.work_dir / "server_minimal.log", MINIMAL) as server:
            for n in sorted({1, *sizes}):
                sessions = f"{n} session{'s' if n > 1 else ''}"
                run_scenario(server, "calibration warm-up", n)
                rows.append(
                    run_scenario(server, f"minimal page, {sessions}", n, rounds=args.rounds)
                )
                print(table(rows[-1:]), flush=True)
    report = table(rows)
    judged = targets(rows)
    print("\n" + report + "\n\n" + "\n".join(judged))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    measured = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "project": str(project),
        "upload": str(args.upload) if args.upload else None,
        "scenarios": rows,
        "targets": judged,
    }
    (args.results_dir / "app_load.json").write_text(json.dumps(measured, indent=2))
    (args.results_dir / "app_load.md").write_text(report + "\n\n" + "\n".join(judged) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
