"""The data contract's two paths, timed: a file through ``prepare_customers`` (the
``data_processing`` node's call) and one form row through ``check_rows`` (the app's Predict
page), with the parameters in ``conf/base``.

    python benchmarks/contract.py file customers_1000000.csv   # repeats 3
    python benchmarks/contract.py form --calls 200              # a real customer's row
    python benchmarks/contract.py form --set Year_Birth=1890    # a row the contract rejects

A file's rows are written by ``python -m customer_segmentation.demo_data --rows N --out PATH``.
Times are wall clock and this process's CPU; a form row's are the median and 95th percentile
of warm calls (after five). This machine's speed drifts: compare two commits in one sitting,
alternating (``PYTHONPATH=<a checkout>/src``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import pandas as pd
from kedro.config import OmegaConfigLoader

from customer_segmentation import schema
from customer_segmentation.core.contract import RawCustomerFile, check_rows, prepare_customers
from customer_segmentation.params import DataProcessingParams, validate
from customer_segmentation.serving.form import form_table

REPO = Path(__file__).resolve().parents[1]
REAL_TABLE = REPO.parent / "shared" / "data" / "customer_segmentation.csv"


def data_params() -> DataProcessingParams:
    """``params:data_processing`` as ``kedro run`` validates it."""
    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="local")
    return validate(loader["parameters"])["data_processing"]


def time_file(path: Path, repeats: int) -> None:
    """``prepare_customers`` on ``path`` (its clean rows gathered, as the catalog writes them)."""
    params = data_params()
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = prepare_customers(RawCustomerFile(path.name, path=path), params)
        clean = result.clean.collect() if hasattr(result.clean, "collect") else result.clean
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"prepare_customers {path.name}: {wall:.2f} s (CPU {cpu:.2f} s), peak {peak:,.0f} MB; "
            f"{len(clean):,} clean, {len(result.rejected):,} rejected"
        )


def time_form(calls: int, changes: list[str]) -> None:
    """``check_rows`` on the form row of the real table's first customer (with ``changes``)."""
    params = data_params()
    real = pd.read_csv(REAL_TABLE, dtype=str, keep_default_na=False)
    values = {c: real.loc[0, c] for c in schema.KAGGLE_COLUMNS if c != schema.ID}
    values.update(dict(change.split("=", 1) for change in changes))
    table = form_table(values, pd.Timestamp("2014-12-31"))
    for _ in range(5):
        result = check_rows(table, "the form", params)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        check_rows(table, "the form", params)
        times.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"check_rows, one form row ({len(result.rejected)} rejected): median "
        f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms over {calls} warm calls"
    )


def main() -> None:
    """Parse the command line and time the path asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    file = commands.add_parser("file", help="a file through prepare_customers")
    file.add_argument("path", type=Path)
    file.add_argument("--repeats", type=int, default=3)
    form = commands.add_parser("form", help="one form row through check_rows")
    form.add_argument("--calls", type=int, default=200)
    form.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE")
    args = parser.parse_args()
    if args.command == "file":
        time_file(args.path, args.repeats)
    else:
        time_form(args.calls, args.set)


if __name__ == "__main__":
    main()
