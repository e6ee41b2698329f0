"""Commands that touch no data do not import scikit-learn, SciPy, matplotlib or Spark (issue 17).

Each command runs in a project copy under ``python -X importtime``, which lists every module
imported and who imported it, so a failure names the project module that pulled a heavy library
in. How long the commands take is measured by ``benchmarks/run.py``, not asserted here.

The node modules import their domain modules inside the nodes and annotate with
``customer_segmentation.kedro_io.lazy_types``; the last tests check that Kedro still reads those
annotations, so it still validates every pipeline's parameters before a run.
"""

from __future__ import annotations

import typing

import pytest
from importtime import heavy_imports, run_importtime
from kedro.framework.project import configure_project
from kedro.validation.type_extractor import TypeExtractor

from customer_segmentation.params import PIPELINE_PARAMS

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


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        pytest.param(["registry", "list"], "- clustering", id="registry list"),
        pytest.param(["--help"], "kedro [OPTIONS] COMMAND [ARGS]", id="--help"),
        pytest.param(["run", "--help"], "kedro run [OPTIONS]", id="run --help"),
    ],
)
def test_a_command_that_touches_no_data_imports_no_heavy_library(fresh_project, command, answer):
    result = run_importtime(fresh_project, "-m", "kedro", *command)
    heavy = heavy_imports(result.stderr)
    assert not heavy, f"`kedro {' '.join(command)}` imported " + "; ".join(
        f"{package} ({chain})" for package, chain in heavy.items()
    )
    assert answer in result.stdout, result.stdout  # the command did its work


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
