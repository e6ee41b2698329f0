"""``serving.score``: an uploaded file gets the pipeline's own segments, and the ``scoring``
pipeline and the app score every customer through the same function.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import served
from conftest import REAL_FILES, load_catalog, real_file, run_project
from contract_api import CustomerDataError
from model_projects import copy_run

from customer_segmentation import schema
from customer_segmentation.serving import score

real = served.real  # the real-table model, a session fixture


@pytest.mark.parametrize("name", REAL_FILES)
def test_upload_scoring_reproduces_customer_segments_for_every_row(real: dict, name: str):
    bundle = real["bundle"]
    result = score.score_upload(real_file(name).read_bytes(), name, bundle, real["rules"], 50)
    expected = real["customer_segments"]
    merged = expected.merge(result.scored, on=schema.ID, how="outer", suffixes=("", "_app"))
    assert len(merged) == len(expected) == len(result.scored), (
        f"{name}: pipeline scored {len(expected)} customers, the upload {len(result.scored)}"
    )
    differ = merged.loc[merged["segment"] != merged["segment_app"], schema.ID].tolist()
    assert not differ, f"{name}: segments differ for IDs {differ[:20]}"
    assert np.allclose(merged["distance"], merged["distance_app"]), "distances differ"
    names = {s["segment"]: s["name"] for s in bundle.card["segments"]}
    assert (result.scored["name"] == result.scored["segment"].map(names)).all()
    assert sorted(result.rejected[schema.ID]) == sorted(real["rejected_customers"][schema.ID]), (
        "the upload must reject the same rows as the pipeline"
    )
    assert set(result.rejected.columns) >= {"reason_code", "reason", "source_row"}
    assert result.distribution["customers"].sum() == len(result.scored)
    assert result.distribution["share"].sum() == pytest.approx(1.0)


def test_uploads_that_are_not_customer_tables_get_a_message(real: dict):
    bundle, params = real["bundle"], real["rules"]
    with pytest.raises(CustomerDataError, match="binary file"):
        score.score_upload(b"\x80\x04\x95pickle\x00\x00", "model.pkl", bundle, params, 50)
    mall = b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,19,15,39\n"
    with pytest.raises(CustomerDataError, match="Mall Customers"):
        score.score_upload(mall, "Mall_Customers.csv", bundle, params, 50)


def test_uploads_above_the_limit_are_refused_before_parsing(real: dict):
    bundle, params = real["bundle"], real["rules"]
    content = real_file(REAL_FILES[0]).read_bytes()
    limit_mb = len(content) / 2 / 1_000_000
    with pytest.raises(score.UploadTooLargeError, match=r"accepts files up to .* MB"):
        score.score_upload(content, "big.csv", bundle, params, limit_mb)


def test_the_scoring_pipeline_and_the_app_score_every_customer_alike(
    real: dict, real_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every customer of the real table gets the same segment, distance and runner-up from
    ``kedro run --pipeline scoring`` and from the app's Score page, and both went through
    ``serving.score.scored_frame``.
    """
    calls: list[str] = []
    scored_frame = score.scored_frame

    def spy(*args, **kwargs):
        calls.append("scored_frame")
        return scored_frame(*args, **kwargs)

    monkeypatch.setattr(score, "scored_frame", spy)
    path = real_file(REAL_FILES[0])
    app = score.score_upload(path.read_bytes(), path.name, real["bundle"], real["rules"], 50)
    assert calls == ["scored_frame"], "the app scored without the serving function"
    project = copy_run(real_project, tmp_path / "project")
    run_project(project, pipeline="scoring", params={"new_customers_path": str(path)})
    assert calls == ["scored_frame"] * 2, "the pipeline scored without the serving function"
    pipeline = load_catalog(project).load("scored_customers")
    assert (pipeline["model_version"] == real["bundle"].version).all()
    merged = pipeline.merge(app.scored, on=schema.ID, suffixes=("", "_app"), validate="1:1")
    assert len(merged) == len(app.scored) == len(real["customer_segments"])
    for column in ("segment", "runner_up"):
        differ = merged.loc[merged[column] != merged[f"{column}_app"], schema.ID]
        assert differ.empty, f"{column} differs for IDs {differ.tolist()[:10]}"
    np.testing.assert_array_equal(merged["distance"], merged["distance_app"])
    training = real["customer_segments"].set_index(schema.ID)["segment"]
    assert (merged["previous_segment"] == merged[schema.ID].map(training)).all(), (
        "every customer is a training customer: its previous segment is the training one"
    )
