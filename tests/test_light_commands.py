"""Commands that touch no data do not import scikit-learn, SciPy, matplotlib or Spark (issue 17).

Each command runs in a project copy under ``python -X importtime``, which lists every module
imported and who imported it, so a failure names the project module that pulled a heavy library
in. How long the commands take is measured by ``benchmarks/run.py``, not asserted here.

The node modules import their domain modules inside the nodes and annotate with
``customer_segmentation.lazy_types``; the last tests check that Kedro still reads those
annotations, so it still validates every pipeline's parameters before a run.
"""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
from kedro.framework.project import configure_project
from kedro.validation.type_extractor import TypeExtractor

from customer_segmentation.params import PIPELINE_PARAMS

HEAVY = (
    "sklearn",
    "scipy",
    "matplotlib",
    "seaborn",
    "pyspark",
    "skops",
    "altair",
    "streamlit",
    "kneed",
)

# What `kedro viz build` does before it reads the catalog's datasets: the session, the
# context, the parameters validated into their models, the pipelines.
VIZ_START_UP = """
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

bootstrap_project(Path.cwd())
with KedroSession.create(project_path=Path.cwd(), save_on_close=False) as session:
    params = session.load_context().params
    print("pipelines", sorted(dict(pipelines)))
    print("validated", type(params["clustering"]).__name__)
"""


def _imports(stderr: str) -> list[tuple[int, str]]:
    """``(depth, module)`` for every line of ``-X importtime``, in the order printed: a module
    comes after the modules it imported, one level deeper.
    """
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.endswith("| imported package"):
            continue
        field = line.rsplit("|", 1)[1]
        rows.append(((len(field) - len(field.lstrip()) - 1) // 2, field.strip()))
    return rows


def heavy_imports(stderr: str) -> dict[str, str]:
    """Each heavy package imported, with the chain of modules that imported it (outermost
    module of the package first, then its importers up to the top level).
    """
    rows = _imports(stderr)
    found: dict[str, str] = {}
    for position, (depth, name) in enumerate(rows):
        package = name.split(".")[0]
        if package not in HEAVY or package in found:
            continue
        chain, level = [name], depth
        for parent_depth, parent in rows[position + 1 :]:
            if parent_depth < level:
                chain.append(parent)
                level = parent_depth
        outermost = max(i for i, module in enumerate(chain) if module.split(".")[0] == package)
        found[package] = " <- ".join(chain[outermost:])
    return found


def run_importtime(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [["registry", "list"], ["--help"], ["run", "--help"]],
    ids=" ".join,
)
def test_a_command_that_touches_no_data_imports_no_heavy_library(fresh_project, command):
    result = run_importtime(fresh_project, "-m", "kedro", *command)
    heavy = heavy_imports(result.stderr)
    assert not heavy, f"`kedro {' '.join(command)}` imported " + "; ".join(
        f"{package} ({chain})" for package, chain in heavy.items()
    )
    if command == ["registry", "list"]:
        assert "- clustering" in result.stdout, result.stdout


def test_viz_start_up_validates_the_parameters_without_heavy_libraries(fresh_project):
    result = run_importtime(fresh_project, "-c", VIZ_START_UP)
    assert "validated ClusteringParams" in result.stdout, result.stdout + result.stderr[-2000:]
    assert "'reporting'" in result.stdout, result.stdout
    heavy = heavy_imports(result.stderr)
    assert not heavy, "session, parameters and pipelines imported " + "; ".join(
        f"{package} ({chain})" for package, chain in heavy.items()
    )


def test_the_chain_names_who_imported_a_heavy_library():
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:         1 |          1 |       scipy.stats",
            "import time:         1 |          2 |     sklearn.utils",
            "import time:         1 |          3 |   sklearn",
            "import time:         1 |          4 | customer_segmentation.pipelines.x.nodes",
            "import time:         1 |          1 | json",
        ]
    )
    assert heavy_imports(stderr) == {
        "scipy": "scipy.stats <- sklearn.utils <- sklearn <- customer_segmentation.pipelines.x.nodes",
        "sklearn": "sklearn <- customer_segmentation.pipelines.x.nodes",
    }


@pytest.fixture(scope="module")
def project_pipelines() -> dict:
    configure_project("customer_segmentation")
    from customer_segmentation.pipeline_registry import register_pipelines  # noqa: PLC0415

    return register_pipelines()


def test_every_node_annotation_resolves(project_pipelines):
    """Kedro reads annotations with ``typing.get_type_hints``; one name that does not resolve
    and it skips the node's parameters, with only a warning.
    """
    broken = {}
    for node in project_pipelines["__default__"].nodes:
        try:
            typing.get_type_hints(node.func)
        except NameError as error:
            broken[node.name] = str(error)
    assert not broken, f"annotations Kedro cannot read (it would not validate them): {broken}"


def test_kedro_finds_every_pipelines_parameter_model(project_pipelines):
    found = TypeExtractor(
        {name: p for name, p in project_pipelines.items() if name != "__default__"}
    ).extract_types_from_pipelines()
    expected = {model.KEY: model for model in PIPELINE_PARAMS}
    assert found == expected, f"Kedro validates {found}, the project has {expected}"
