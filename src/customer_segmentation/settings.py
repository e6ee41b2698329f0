"""Project settings (Kedro defaults except where noted)."""

from kedro.config import OmegaConfigLoader

from customer_segmentation.hooks import NodeTimingHook

# Times every node (logged; JSON when CUSTOMER_SEGMENTATION_TIMINGS or
# --params node_timings_path=PATH is set), for benchmarks/run.py.
HOOKS = (NodeTimingHook(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
