"""The benchmark's tables: its results (``run.py``'s dicts, as saved in
``benchmarks/results/*.json``) as the markdown it prints and writes.

* :func:`figures_table`: one input, one pass (quiet or loaded): both sides' wall time, memory
  and ratio, the Kedro nodes, the plain script's steps, both answers, scoring and light
  commands (``benchmark_<N>[_loaded].md``);
* :func:`side_by_side_table`: one input quiet and with one core busy (``--load both``,
  ``benchmark_<N>_quiet_vs_loaded.md``);
* :func:`scaling_table`: how wall time and memory grow with the rows (``scaling.md``);
* :func:`summary_table`: one row per input, quiet and loaded, under the commit, the machine and
  the command (``summary.md``).

Pure formatting: nothing here runs or measures anything. The issue's target for the loaded
ratio (:data:`STEADY_TARGET`) lives here, where the tables judge a result against it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MB = 1024 * 1024  # the tables' megabytes (and run.py's memory figures)
STEADY_TARGET = 1.2  # issue 17: the loaded ratio at most 1.2x the quiet one
CONTRACT_TARGET = 3.0  # issue 31: the contract at most 3x the engine's typed read of the file


def load_sentence(load: dict[str, Any]) -> str:
    """How the machine was loaded during the runs, in words (for the table)."""
    if not load.get("on"):
        return "Background load: off (no process of the benchmark beside the runs)."
    return (
        f"Background load: on, one busy-loop process (pid {load['pid']}) beside the runs for "
        f"{load['seconds']:.1f} s, {load['busy_share']:.0%} of a core."
    )


def cluster_table(result: dict[str, Any]) -> str:
    """Markdown: ``kedro run --env spark`` on standalone clusters of one-core workers
    (``--spark-workers``): wall time, the contract's time, the ratio to the Polars ``kedro run``
    of the same file and the speed-up over the smallest cluster.
    """
    runs = result["spark_clusters"]
    sizes = sorted(runs, key=int)
    polars = result["kedro"]["wall_seconds"]
    base = runs[sizes[0]]["wall_seconds"]

    def workers(size: str) -> str:
        return f"{size} worker{'s' if int(size) > 1 else ''}"

    lines = [
        "| kedro run --env spark on | wall time (s) | contract (s) | ratio to Polars | "
        f"speed-up over {workers(sizes[0])} |",
        "|---|---:|---:|---:|---:|",
    ]
    for size in sizes:
        run = runs[size]
        lines.append(
            f"| standalone cluster, {workers(size)} of 1 core | "
            f"{run['wall_seconds']:.1f} | {run['contract_seconds']:.1f} | "
            f"{run['wall_seconds'] / polars:.2f}x | {base / run['wall_seconds']:.2f}x |"
        )
    return "\n".join(lines)


def figures_table(result: dict[str, Any]) -> str:
    """Markdown: wall time and peak memory of both sides and their ratio, then the nodes."""
    kedro, plain = result["kedro"], result["plain"]
    rows = result["rows"]
    wall_ratio = kedro["wall_seconds"] / plain["wall_seconds"]
    mem_ratio = kedro["peak_mb"] / plain["peak_mb"]
    load = result.get("background_load", {"on": False})
    lines = [
        f"### {result['title']}, "
        f"{'one core busy (background load)' if load['on'] else 'no background load'}",
        "",
        load_sentence(load),
        "",
        "| run | wall time (s) | peak memory (MB) | CPU time (s) | µs per row |",
        "|---|---:|---:|---:|---:|",
    ]
    runs = [("kedro run", kedro), ("plain scikit-learn", plain)]
    if "spark" in result:
        runs.append(("kedro run --env spark (local[2])", result["spark"]))
    for name, part in runs:
        lines.append(
            f"| {name} | {part['wall_seconds']:.1f} | {part['peak_mb']:.0f} | "
            f"{part['cpu_seconds']:.1f} | {1e6 * part['wall_seconds'] / rows:.1f} |"
        )
    lines.append(f"| **ratio kedro / plain** | **{wall_ratio:.2f}x** | **{mem_ratio:.2f}x** | | |")
    if "quiet_ratio_wall" in result:
        lines += [
            "",
            f"Steadiness: ratio {wall_ratio:.2f}x with the load against "
            f"{result['quiet_ratio_wall']:.2f}x quiet ({result['quiet_results']}): "
            f"**{result['loaded_over_quiet']:.2f}x** of the quiet ratio "
            f"(issue 17: at most {STEADY_TARGET}x).",
        ]
    if "spark" in result:
        spark = result["spark"]
        lines += [
            "",
            f"Spark: Python process peak {spark['peak_mb_own']:.0f} MB, JVM peak "
            f"{spark['peak_mb_jvm_sampled']:.0f} MB (sampled); CPU time counts the Python "
            f"process only; {spark['wall_seconds'] / kedro['wall_seconds']:.2f}x the Polars "
            f"kedro run. {result['spark_parity']}",
        ]
    if "spark_clusters" in result:
        lines += ["", cluster_table(result)]
    if "contract_factor" in result:
        lines += ["", contract_sentence(result)]
    nodes = result["nodes"]["nodes"]
    lines += [
        "",
        f"Kedro nodes (pipeline {result['nodes']['pipeline_seconds']:.1f} s inside "
        f"{kedro['wall_seconds']:.1f} s wall; the rest is start-up and catalog set-up):",
        "",
        "| node | compute (s) | load (s) | save (s) | share of wall | peak MB so far |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for node in sorted(nodes, key=lambda n: n["seconds"], reverse=True):
        total = node["seconds"] + node["load_seconds"] + node["save_seconds"]
        lines.append(
            f"| {node['node']} | {node['seconds']:.2f} | {node['load_seconds']:.2f} | "
            f"{node['save_seconds']:.2f} | {total / kedro['wall_seconds']:.0%} | "
            f"{node['peak_rss_mb_so_far']:.0f} |"
        )
    steps = plain["figures"]["steps_seconds"]
    lines += ["", "Plain script steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items())]
    if "same_answer" in result:
        both = result["same_answer"]
        mine, theirs = both["kedro"], both["plain"]
        lines += [
            "",
            f"Same answer: {mine['rows_in_clean']:,} / {theirs['rows_in_clean']:,} clean rows, "
            f"k={mine['k']} / {theirs['k']}, final K-Means inertia {mine['inertia']:,.1f} / "
            f"{theirs['inertia']:,.1f} (ratio {both['inertia_ratio']:.7f}; Kedro started from "
            f"{mine['initialisation']}, the plain script from the best of its k-means++ starts), "
            f"sampled silhouette {mine['silhouette']:.3f} / {theirs['silhouette']:.3f} "
            "(Kedro / plain).",
        ]
    if "scoring" in result:
        s = result["scoring"]
        lines += [
            "",
            f"Scoring {s['rows']:,} rows (serving.score.scored_frame): "
            f"{s['batch_seconds']:.2f} s = {s['rows_per_minute']:,.0f} rows/minute; warm single "
            "prediction (serving.predict.predict_customer) "
            f"{s['single_prediction_ms_median']:.1f} ms median, "
            f"{s['single_prediction_ms_p95']:.1f} ms p95 ({s['single_prediction_repeats']} runs).",
        ]
    if "light_commands" in result:
        light = result["light_commands"]
        lines += [
            "",
            f"Commands that touch no data (median of {light['repeats']}): "
            + ", ".join(f"`{c}` {s:.2f} s" for c, s in light["median_seconds"].items())
            + ".",
        ]
    if "generate" in result and not result["generate"].get("reused"):
        g = result["generate"]
        lines += [
            "",
            f"Generating the file: {g['wall_seconds']:.1f} s, peak {g['peak_mb']:.0f} MB, "
            f"{g['bytes'] / MB:.1f} MB on disk.",
        ]
    return "\n".join(lines)


def contract_sentence(result: dict[str, Any]) -> str:
    """The contract's cost against the engine's own typed read of the same file (``run.py``'s
    ``contract_seconds``, ``typed_read`` and ``contract_factor``).
    """
    typed_read, factor = result["typed_read"], result["contract_factor"]
    verdict = "met" if factor <= CONTRACT_TARGET else "missed"
    return (
        f"Contract: `check_customers` {result['contract_seconds']:.2f} s; Polars' typed read of the same "
        f"file (`pl.read_csv(path, try_parse_dates=True)`, best of {typed_read['repeats']}) "
        f"{typed_read['seconds']:.2f} s: **{factor:.1f}x** (issue 31: at most "
        f"{CONTRACT_TARGET:.0f}x; {verdict})."
    )


def scaling_table(results: list[dict[str, Any]]) -> str:
    """Markdown: how wall time and memory grow with the number of rows."""
    lines = [
        "| input | rows | background load | kedro wall (s) | plain wall (s) | ratio "
        "| kedro peak (MB) | plain peak (MB) | typed read (s) | contract / typed read |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        k, p = r["kedro"], r["plain"]
        load = "one core busy" if r.get("background_load", {}).get("on") else "off"
        typed = r.get("typed_read")
        read = "–" if typed is None else f"{typed['seconds']:.2f}"
        factor = "–" if typed is None else f"{r['contract_factor']:.1f}x"
        lines.append(
            f"| {input_name(r)} | {r['rows']:,} | {load} | {k['wall_seconds']:.1f} | "
            f"{p['wall_seconds']:.1f} | "
            f"{k['wall_seconds'] / p['wall_seconds']:.2f}x | {k['peak_mb']:.0f} | "
            f"{p['peak_mb']:.0f} | {read} | {factor} |"
        )
    if all("spark" in r for r in results):
        lines += [
            "",
            "| input | rows | background load | Spark local[2] wall (s) | Python peak (MB) "
            "| JVM peak (MB) | µs per row |",
            "|---|---:|---|---:|---:|---:|---:|",
        ]
        for r in results:
            s = r["spark"]
            load = "one core busy" if r.get("background_load", {}).get("on") else "off"
            lines.append(
                f"| {input_name(r)} | {r['rows']:,} | {load} | {s['wall_seconds']:.1f} | {s['peak_mb_own']:.0f} | "
                f"{s['peak_mb_jvm_sampled']:.0f} | {1e6 * s['wall_seconds'] / r['rows']:.1f} |"
            )
    return "\n".join(lines)


def nodes_by_size_table(results: list[dict[str, Any]]) -> str:
    """Markdown: each Kedro node's time (compute + load + save, s) at every input, side by side,
    and its growth from the first input to the last: a node that runs on a seeded sample should
    cost the same at every size, so one that grows when it should not shows here.
    """
    columns = [f"{input_name(r)}, {r['rows']:,} rows" for r in results]
    times: dict[str, list[float | None]] = {}
    for i, r in enumerate(results):
        for node in r["nodes"]["nodes"]:
            total = node["seconds"] + node["load_seconds"] + node["save_seconds"]
            times.setdefault(node["node"], [None] * len(results))[i] = total
    lines = [
        "| node | " + " | ".join(columns) + " | last / first |",
        "|---|" + "---:|" * (len(columns) + 1),
    ]
    for name, row in sorted(times.items(), key=lambda item: -(item[1][-1] or 0.0)):
        cells = ["–" if t is None else f"{t:.2f}" for t in row]
        first, last = row[0], row[-1]
        growth = "–" if not first or last is None else f"{last / first:.2f}x"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
    return "\n".join(lines)


def input_name(result: dict[str, Any]) -> str:
    """The input of a result in a table cell: the real table's file name, or "generated"."""
    described = result.get("input", {"kind": "generated"})
    if described["kind"] == "real":
        return Path(described["path"]).name
    return f"generated (seed {result['seed']})"


def side_by_side_table(quiet: dict[str, Any], loaded: dict[str, Any], files: list[str]) -> str:
    """Markdown for ``--load both``: one input's wall times and ratio quiet and with one core
    busy, the loaded ratio over the quiet one, and how busy the load kept its core.
    """
    runs = [("kedro run", "kedro"), ("plain scikit-learn", "plain")]
    if "spark" in quiet and "spark" in loaded:
        runs.append(("kedro run --env spark (local[2])", "spark"))
    lines = [
        f"### {quiet['title']}: quiet and with one core busy",
        "",
        "| run | quiet wall (s) | loaded wall (s) | loaded / quiet |",
        "|---|---:|---:|---:|",
    ]
    for name, key in runs:
        q, lo = quiet[key]["wall_seconds"], loaded[key]["wall_seconds"]
        lines.append(f"| {name} | {q:.1f} | {lo:.1f} | {lo / q:.2f}x |")
    steady = loaded["loaded_over_quiet"]
    lines += [
        f"| **ratio kedro / plain** | **{quiet['ratio_wall']:.2f}x** | "
        f"**{loaded['ratio_wall']:.2f}x** | **{steady:.2f}x** |",
        "",
        f"Steadiness: the ratio under load is **{steady:.2f}x** the quiet one (issue 17: at most "
        f"{STEADY_TARGET}x; {'met' if steady <= STEADY_TARGET else 'missed'}).",
        load_sentence(loaded["background_load"]),
        f"Peak memory quiet / loaded: kedro run {quiet['kedro']['peak_mb']:.0f} / "
        f"{loaded['kedro']['peak_mb']:.0f} MB, plain {quiet['plain']['peak_mb']:.0f} / "
        f"{loaded['plain']['peak_mb']:.0f} MB.",
        "",
        "Every figure, the nodes and both sides' answers: " + ", ".join(files) + ".",
    ]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def summary_table(
    pairs: list[dict[str, Any]], commit: str, command: str, mode: str, where: dict[str, Any]
) -> str:
    """Markdown: one row per input with the quiet and loaded wall times and ratios and the
    loaded ratio over the quiet one (the performance page's table), under the commit, the
    machine and the exact command. ``pairs`` holds per input its ``quiet`` and ``loaded``
    result (either may be ``None``); with ``--load on`` the quiet figures are those of the
    saved quiet run (``run.compare_with_quiet``), when there was one.
    """
    lines = [
        "## Benchmark summary: kedro run against the plain script, quiet and under load",
        "",
        f"Commit `{commit}`, {datetime.now(UTC).isoformat(timespec='seconds')}, "
        f"{where['cpus']} cores, {where['memory_gb']} GB, Python {where['python']} "
        f"(load average {where['load_average_1min_at_start']:.2f} at start), `--load {mode}`.",
        "",
        f"    {command}",
        "",
        "| input | rows | kedro quiet (s) | plain quiet (s) | ratio quiet | kedro loaded (s) "
        "| plain loaded (s) | ratio loaded | loaded / quiet | load busy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes, missed, steadies = [], [], 0
    for pair in pairs:
        quiet, loaded = pair["quiet"], pair["loaded"]
        first = quiet or loaded
        q_kedro = q_plain = q_ratio = None
        if quiet is not None:
            q_kedro, q_plain = quiet["kedro"]["wall_seconds"], quiet["plain"]["wall_seconds"]
            q_ratio = quiet["ratio_wall"]
        elif loaded is not None and "quiet_ratio_wall" in loaded:
            q_kedro = loaded["quiet_kedro_wall_seconds"]
            q_plain = loaded["quiet_plain_wall_seconds"]
            q_ratio = loaded["quiet_ratio_wall"]
            notes.append(
                f"{input_name(loaded)}, {loaded['rows']:,} rows: {loaded['quiet_results']}"
            )
        l_kedro = l_plain = l_ratio = steady = busy = None
        if loaded is not None:
            l_kedro, l_plain = loaded["kedro"]["wall_seconds"], loaded["plain"]["wall_seconds"]
            l_ratio = loaded["ratio_wall"]
            steady = loaded.get("loaded_over_quiet")
            busy = loaded["background_load"].get("busy_share")
        steadies += steady is not None
        if steady is not None and steady > STEADY_TARGET:
            missed.append(f"{input_name(first)} ({first['rows']:,} rows)")
        lines.append(
            f"| {input_name(first)} | {first['rows']:,} | {_seconds(q_kedro)} | "
            f"{_seconds(q_plain)} | {_times(q_ratio)} | {_seconds(l_kedro)} | "
            f"{_seconds(l_plain)} | {_times(l_ratio)} | {_times(steady)} | "
            f"{'–' if busy is None else f'{busy:.0%}'} |"
        )
    if not steadies:
        verdict = "not measured here (`--load both` measures it)."
    elif missed:
        verdict = f"missed for {', '.join(missed)}."
    else:
        verdict = "met for every input measured both ways."
    lines += [
        "",
        "Loaded: one busy-loop process beside `kedro run` and the plain script (load busy: its "
        "CPU time over its wall time, the share of a core it held). Wall times include each "
        f"process's start-up. Issue 17's target, loaded / quiet at most {STEADY_TARGET}x: "
        + verdict,
    ]
    if notes:
        lines += ["", "Quiet figures from saved runs: " + "; ".join(notes) + "."]
    return "\n".join(lines)
