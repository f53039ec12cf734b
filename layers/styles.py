"""How each registered layer is drawn on the map pages and in the server-rendered map tiles.

One table for both: the page script strokes and fills the vector tiles with these colours, and
the PNG map tiles (layers/map_tiles.py) paint the same ones, so the legend fits both.
"""

from __future__ import annotations

__all__ = ["LAYER_STYLES", "DEFAULT_STYLE", "layer_style"]

# Page keys: `on` (shown when the page opens), `min_zoom` (hidden below it), `order` (drawing order),
# `raster_below` (below this zoom the page shows the layer's PNG map tiles instead of its vector
# tiles: a z12 farmland vector tile holds 3 000–4 000 patches, too many to decode and draw in one
# browser task while a person pans; see bench/README.md, "Map panning benchmark").
LAYER_STYLES = {
    "admin_district": {"color": "#3d3d3d", "weight": 1.5, "fillOpacity": 0, "dashArray": "6 3",
                       "on": True, "min_zoom": 0, "order": 90},
    "ecological_redline": {"color": "#d7191c", "weight": 1.5, "fillColor": "#d7191c", "fillOpacity": 0.25,
                           "on": True, "min_zoom": 0, "order": 60},
    "basic_farmland": {"color": "#c9a100", "weight": 0.8, "fillColor": "#f2d43d", "fillOpacity": 0.45,
                       "on": True, "min_zoom": 10, "raster_below": 13, "order": 50},
    "urban_development_boundary": {"color": "#7b3294", "weight": 2, "fillOpacity": 0, "on": True,
                                   "min_zoom": 0, "order": 70},
    "urban_space": {"color": "#e66101", "weight": 0.5, "fillColor": "#fdb863", "fillOpacity": 0.25,
                    "on": False, "min_zoom": 0, "order": 10},
    "agricultural_space": {"color": "#a6a600", "weight": 0.5, "fillColor": "#e6e69a", "fillOpacity": 0.25,
                           "on": False, "min_zoom": 0, "order": 11},
    "ecological_space": {"color": "#1a9641", "weight": 0.5, "fillColor": "#a6d96a", "fillOpacity": 0.25,
                         "on": False, "min_zoom": 0, "order": 12},
    "water_body": {"color": "#2b83ba", "weight": 1, "fillColor": "#74add1", "fillOpacity": 0.5,
                   "on": True, "min_zoom": 0, "order": 40},
    "project_site": {"color": "#d01c8b", "weight": 2, "fillColor": "#f1b6da", "fillOpacity": 0.35,
                     "on": True, "min_zoom": 0, "order": 80},
}
DEFAULT_STYLE = {"color": "#4d4d4d", "weight": 1.5, "fillColor": "#bababa", "fillOpacity": 0.2,
                 "on": False, "min_zoom": 0, "order": 30}


def layer_style(slug: str) -> dict:
    """The style of a layer: its own entry over the default (a control line added later gets grey)."""
    return {**DEFAULT_STYLE, **LAYER_STYLES.get(slug, {})}
