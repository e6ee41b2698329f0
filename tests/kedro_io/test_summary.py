"""``kedro_io.summary``: a run ends saying what it made (model, rows, segments, paths, next
commands), read from the run's own log; a failed run names the node and the reason first.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import load_catalog, run_summary
from model_projects import model_stamps


def _summary(project: Path) -> tuple[str, list[str]]:
    """The run's closing summary: its text, and its paths (relative to the project)."""
    messages = run_summary(project)
    assert len(messages) == 1 and messages[0].startswith("The run made:"), messages
    text = messages[0]
    paths = re.findall(r"^  (?:rejects|report|scored|  +)\s+(data/\S+)", text, flags=re.M)
    return text, paths


def test_a_training_run_ends_saying_what_it_made(real_project: Path):
    text, paths = _summary(real_project)
    catalog = load_catalog(real_project)
    report, card = catalog.load("data_quality_report"), catalog.load("model_card")

    assert f"model     {model_stamps(real_project)[0]} (trained): k={card['k']}," in text, text
    rows = report["rows_in"], report["rows_clean"], report["rows_rejected"]
    assert "rows      {:,} in, {:,} clean, {:,} rejected".format(*rows) in text, text
    for segment in card["segments"]:
        assert f"{segment['segment']} {segment['name']}: {segment['size']:,} (" in text, segment
    assert [p.split("/")[1] for p in paths] == ["03_primary", "08_reporting"], paths
    assert all((real_project / p).is_file() for p in paths), paths
    assert paths[1].endswith("segmentation_report.html"), "the report itself, not its folder"
    assert "streamlit run app/streamlit_app.py" in text and "kedro viz run" in text


def test_a_cli_run_that_fails_names_the_node_and_reason_before_the_traceback(fresh_project):
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--params", "raw_customers_path=nowhere.csv"],
        cwd=fresh_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "400"},
    )
    output = result.stdout
    assert result.returncode != 0
    said = output.find("The run failed at node check_customers: DatasetError: raw_customers:")
    assert 0 <= said < output.find("Traceback"), output[-3000:]
    assert "nowhere.csv' does not exist" in output[said : output.find("Traceback")]
