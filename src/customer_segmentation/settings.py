"""Project settings (Kedro defaults except where noted)."""

from kedro.config import OmegaConfigLoader

from customer_segmentation.hooks import NodeTimingHook, ReleaseMemoryHook

# Times every node (logged; JSON when CUSTOMER_SEGMENTATION_TIMINGS or
# --params node_timings_path=PATH is set), for benchmarks/run.py.
# Returns freed memory to the system after every node and save (large tables).
HOOKS = (NodeTimingHook(), ReleaseMemoryHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
