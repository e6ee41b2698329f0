"""What a command imports, read from ``python -X importtime``: the heavy libraries a command
that touches no data must not load (issue 17), and who loaded them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
