"""Names for the annotations of the node modules, without importing the libraries they name.

Every Kedro command that lists the pipelines (``kedro registry list``, ``kedro viz build``,
``kedro run`` before its first node) imports every ``pipelines/*/nodes.py``. Those modules
import their domain modules inside the node functions, so scikit-learn, SciPy, matplotlib and
pandas load when a node runs, not when a command only looks at the pipelines.

Their annotations still name the classes a node takes and returns. A type checker reads the
real classes (the ``TYPE_CHECKING`` branch); at run time each name is ``typing.Any``. They
must resolve at run time: before a run Kedro 1.7 calls ``typing.get_type_hints`` on every
node function to find its pydantic-typed ``params:`` arguments
(``kedro.validation.type_extractor``), and a name that does not resolve makes Kedro skip the
whole node with a warning, so that node's parameters would no longer be validated.
``tests/test_light_commands.py`` checks both: no heavy import, every pipeline's parameters
found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy import ndarray
    from pandas import DataFrame
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from customer_segmentation.core.contract import RawCustomerFile, RawTable
else:
    DataFrame = Figure = KMeans = PCA = StandardScaler = ndarray = Any
    # The contract package imports the engines (pandas, NumPy) when it is imported.
    RawCustomerFile = RawTable = Any

__all__ = [
    "PCA",
    "DataFrame",
    "Figure",
    "KMeans",
    "RawCustomerFile",
    "RawTable",
    "StandardScaler",
    "ndarray",
]
