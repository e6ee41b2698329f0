"""ReleaseMemoryHook: memory goes back to the system only when the process holds a lot."""

from __future__ import annotations

from customer_segmentation.kedro_io.hooks import ReleaseMemoryHook

MB = 2**20


def _hook(resident_mb: list[float]) -> tuple[ReleaseMemoryHook, list[int]]:
    trims: list[int] = []
    hook = ReleaseMemoryHook(above_mb=2048, resident=lambda: int(resident_mb[0] * MB))
    hook._malloc_trim = trims.append  # record the C heap releases
    return hook, trims


def test_memory_is_kept_while_the_process_is_small():
    hook, trims = _hook([1300])

    hook.before_node_run()
    hook.after_dataset_saved()

    assert trims == [], "a 1.3 GB process should keep its pages for the next node"
    assert hook.release() is False


def test_memory_is_released_once_the_process_is_large():
    resident = [6000.0]
    hook, trims = _hook(resident)

    hook.after_node_run()
    resident[0] = 1000
    hook.after_dataset_loaded()

    assert trims == [0], "one release above 2048 MB (malloc_trim(0)), none below"


def test_the_default_reads_this_process_resident_memory():
    assert ReleaseMemoryHook(above_mb=0).release() is True, (
        "any running process holds more than 0 MB, so the hook must release"
    )


def _spark_env():
    from conftest import project_config  # noqa: PLC0415

    loader = project_config("spark")
    return loader["spark"], loader["globals"]


def test_the_spark_environment_runs_on_local_cores_unless_told_of_a_cluster(monkeypatch):
    for name in ("SPARK_MASTER", "SPARK_REMOTE", "SPARK_DATA_ROOT"):
        monkeypatch.delenv(name, raising=False)
    spark, shared = _spark_env()
    assert spark["spark.master"] == "local[2]"
    assert spark["spark.remote"] is None
    assert shared["data_root"] == "data/spark"

    monkeypatch.setenv("SPARK_MASTER", "spark://head:7077")
    monkeypatch.setenv("SPARK_REMOTE", "sc://head:15002")
    monkeypatch.setenv("SPARK_DATA_ROOT", "s3a://bucket/segmentation")
    spark, shared = _spark_env()
    assert spark["spark.master"] == "spark://head:7077"
    assert spark["spark.remote"] == "sc://head:15002"
    assert shared["data_root"] == "s3a://bucket/segmentation"
