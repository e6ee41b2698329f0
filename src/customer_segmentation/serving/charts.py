"""The app's charts as Vega-Lite specs (``st.vega_lite_chart``), drawn in the browser.

The segment map is the report's: the same points, labels and colours (``maps.map_layers``),
drawn by matplotlib in the report and by Vega-Lite here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from customer_segmentation.core.maps import MapLayers
from customer_segmentation.core.monitoring import migration

# "Found it again", "most of the row's customers": the colour of a heat-map cell's text flips.
_MAJORITY = 0.5


def _tooltip(*fields: str) -> list[dict[str, str]]:
    return [{"field": f, "type": "nominal"} for f in fields]


def map_spec(layers: MapLayers) -> dict[str, Any]:
    """A model version's PCA map (hover, zoom): the sampled training customers and the
    centroids, in the colours of the report's figures. The same for every session of a version:
    build it once and add each customer with :func:`with_customer`.
    """
    order = list(layers.labels)
    colour = {
        "field": "label",
        "type": "nominal",
        "title": "segment",
        "scale": {
            "domain": [layers.labels[s] for s in order],
            "range": [layers.colours[s] for s in order],
        },
    }
    x = {"field": "x", "type": "quantitative", "title": layers.x_label}
    y = {"field": "y", "type": "quantitative", "title": layers.y_label}
    return {
        "datasets": {
            "customers": layers.customers[["x", "y", "label", "ID"]],
            "centroids": layers.centroids[["x", "y", "label"]],
        },
        "layer": [
            {
                "data": {"name": "customers"},
                # The zoom belongs to one layer: a parameter on the layered chart is copied into
                # every layer, and Vega refuses the copies ("Duplicate signal name").
                "params": [{"name": "zoom", "select": "interval", "bind": "scales"}],
                "mark": {"type": "circle", "opacity": 0.45, "size": 14},
                "encoding": {"x": x, "y": y, "color": colour, "tooltip": _tooltip("label", "ID")},
            },
            {
                "data": {"name": "centroids"},
                "mark": {
                    "type": "point",
                    "shape": "cross",
                    "filled": True,
                    "stroke": "black",
                    "strokeWidth": 1,
                    "size": 260,
                },
                "encoding": {"x": x, "y": y, "color": colour, "tooltip": _tooltip("label")},
            },
        ],
    }


def with_customer(spec: dict[str, Any], position: tuple[float, float]) -> dict[str, Any]:
    """``spec`` (:func:`map_spec`) with one more layer: the customer, a gold diamond."""
    base = spec["layer"][0]["encoding"]
    here = pd.DataFrame({"x": [position[0]], "y": [position[1]], "label": ["this customer"]})
    return {
        **spec,
        "datasets": {**spec["datasets"], "customer": here},
        "layer": [
            *spec["layer"],
            {
                "data": {"name": "customer"},
                "mark": {
                    "type": "point",
                    "shape": "diamond",
                    "filled": True,
                    "color": "gold",
                    "stroke": "black",
                    "size": 420,
                },
                "encoding": {"x": base["x"], "y": base["y"], "tooltip": _tooltip("label")},
            },
        ],
    }


def pull_spec(explanation: pd.DataFrame) -> dict[str, Any]:
    """The features' pulls (``scoring.explain``) as a horizontal bar chart."""
    return {
        "data": {"values": explanation[["feature", "pull"]].to_dict(orient="records")},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "feature", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "pull", "type": "quantitative", "title": "pull towards the own segment"},
            "color": {
                "condition": {"test": "datum.pull < 0", "value": "#d62728"},
                "value": "#1f77b4",
            },
            "tooltip": _tooltip("feature", "pull"),
        },
    }


def migration_heatmap_spec(result: Mapping[str, Any]) -> dict[str, Any]:
    """The migration's contingency table (``migration.contingency_cells``) as a heat map: old
    segments down, new segments across, coloured by the share of the old segment's customers,
    each cell writing its customers.
    """
    cells = migration.contingency_cells(result)[["old", "new", "customers", "share_of_old"]]
    cells = cells.fillna({"share_of_old": 0.0})
    x = {
        "field": "new",
        "type": "nominal",
        "sort": list(dict.fromkeys(cells["new"])),
        "title": f"model {result['new_version']}",
    }
    y = {
        "field": "old",
        "type": "nominal",
        "sort": list(dict.fromkeys(cells["old"])),
        "title": f"model {result['old_version']}",
    }
    return {
        "data": {"values": cells.to_dict(orient="records")},
        "layer": [
            {
                "mark": {"type": "rect"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "color": {
                        "field": "share_of_old",
                        "type": "quantitative",
                        "title": "share of the old segment",
                        "scale": {"domain": [0, 1], "scheme": "blues"},
                    },
                    "tooltip": [
                        {"field": "old", "type": "nominal"},
                        {"field": "new", "type": "nominal"},
                        {"field": "customers", "type": "quantitative", "format": ","},
                        {"field": "share_of_old", "type": "quantitative", "format": ".1%"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "baseline": "middle"},
                "encoding": {
                    "x": x,
                    "y": y,
                    "text": {"field": "customers", "type": "quantitative", "format": ","},
                    "color": {
                        "condition": {
                            "test": f"datum.share_of_old > {_MAJORITY}",
                            "value": "white",
                        },
                        "value": "black",
                    },
                },
            },
        ],
    }
