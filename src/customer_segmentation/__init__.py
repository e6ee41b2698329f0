"""customer-segmentation: explained, versioned customer segments (a Kedro project)."""

import os

__version__ = "0.1"

# How an OpenMP runtime's threads wait: GNU libgomp (scikit-learn's wheels bundle it), LLVM's
# and Intel's libomp. Whoever set one of these chose; it is left as it is.
OPENMP_WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def wait_passively() -> bool:
    """Let the OpenMP threads of this process (and of the processes it starts) sleep while they
    wait for work instead of spinning, unless the environment already says how they wait.

    An OpenMP runtime reads ``OMP_WAIT_POLICY`` once, when it is loaded (``import sklearn``), so
    this runs on the package's import, before NumPy or scikit-learn are imported: ``kedro run``
    and ``python -m customer_segmentation`` import the package first. Spinning threads hold a
    core the machine's other jobs need, and on a busy machine the thread a parallel region
    waits for gets it later: t-SNE and the k sweep ran 5-10x slower with one core busy
    (``benchmarks/README.md``, "Steady under load").

    Returns:
        Whether the passive policy was set here.
    """
    if any(name in os.environ for name in OPENMP_WAIT_SETTINGS):
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


# Whether the passive policy was set here (the environment did not say): processes that are
# to run with the user's own environment (the benchmark's plain script) can leave it out.
OPENMP_WAIT_SET = wait_passively()
