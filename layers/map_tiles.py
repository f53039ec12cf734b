"""PNG map tiles of a vector layer version, drawn on the server in the layer's page style.

Dense layers (a z12 farmland tile holds 3 000–4 000 patches) are too heavy for the browser to
decode and draw while a person pans; as one image they cost the browser a single decode. The
geometries are those of the layer's vector tile (layers/tiles.py: simplified to the zoom, sub-pixel
polygons left out, heavy polygons from their subdivided pieces), in its MVT grid, scaled to 256
pixels: polygons are filled (holes stay empty), then outlined with a 1-pixel line; lines get the
1-pixel line only. Pillow fills each ring in one C call (a z10 farmland tile holds ~10 000 rings);
the few polygons with holes are filled by GDAL's rasterize (rasterio), which keeps holes empty.
"""

from __future__ import annotations

import io

import numpy as np
import shapely
from affine import Affine
from PIL import Image, ImageDraw
from rasterio import features

from layers.tiles import EXTENT, TileRequest, TileSpec, tile_geometries

__all__ = ["TILE_SIZE", "EMPTY_PNG", "render_map_tile", "rgba"]

TILE_SIZE = 256
_SCALE = Affine.scale(EXTENT / TILE_SIZE)  # MVT grid units per pixel: pixel (col, row) = unit / 16


def rgba(colour: str, opacity: float) -> tuple[int, int, int, int]:
    """'#rrggbb' and an opacity 0–1 as an RGBA tuple of bytes."""
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), round(opacity * 255))


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    # Level 1: a z12 farmland tile compresses ~10 % worse than at the default 6, three times faster.
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _hatch_masks() -> dict[str, np.ndarray]:
    """Hatching on an 8-px grid of the tile (256 is a multiple: the lines run on across tiles), the
    same pattern the page draws on its canvases (maps/static/maps/maps.js, fillOf)."""
    col, row = np.meshgrid(np.arange(TILE_SIZE), np.arange(TILE_SIZE))
    diagonal = (col + row) % 8 == 7
    return {"diagonal": diagonal, "cross": diagonal | ((col - row) % 8 == 0),
            "horizontal": row % 8 == 7, "vertical": col % 8 == 7}


HATCH_MASKS = _hatch_masks()
EMPTY_PNG = _png(np.zeros((TILE_SIZE, TILE_SIZE, 4), np.uint8))  # every tile where the layer has nothing


def render_map_tile(spec: TileSpec, tile: TileRequest, style: dict) -> bytes:
    """The tile as a 256 × 256 RGBA PNG, transparent where the layer has nothing."""
    parts = shapely.get_parts(shapely.from_wkb(tile_geometries(spec, tile)))
    if len(parts) == 0:
        return EMPTY_PNG
    pixels = np.zeros((TILE_SIZE, TILE_SIZE, 4), np.uint8)
    dimensions = shapely.get_dimensions(parts)
    polygons, lines = parts[dimensions == 2], parts[dimensions < 2]
    if len(polygons) and style.get("fillOpacity", 0) > 0:
        filled = _filled(polygons)
        pixels[filled] = rgba(style.get("fillColor") or style["color"], style["fillOpacity"])
        hatch = HATCH_MASKS.get(style.get("hatch") or "none")
        if hatch is not None:
            pixels[filled & hatch] = rgba(style.get("hatchColor") or style["color"], 0.85)
    pixels[_stroked(np.concatenate([shapely.get_rings(polygons), lines]))] = rgba(
        style["color"], style.get("opacity", 1.0))
    return _png(pixels)


def _filled(polygons: np.ndarray) -> np.ndarray:
    """The pixels whose centres lie inside the polygons (in MVT grid units), as a boolean mask.

    Pillow fills a ring in one C call; the few polygons with holes go through GDAL, which leaves a
    hole empty even where another polygon's fill would come through with Pillow's ring-by-ring fill.
    """
    holed = shapely.get_num_interior_rings(polygons) > 0
    image = Image.new("L", (TILE_SIZE, TILE_SIZE))
    draw = ImageDraw.Draw(image)
    for ring in _pixel_rings(shapely.get_exterior_ring(polygons[~holed])):
        draw.polygon(ring, fill=1)
    mask = np.asarray(image, dtype=bool)
    if holed.any():
        mask |= features.rasterize(((g, 1) for g in polygons[holed]), out_shape=(TILE_SIZE, TILE_SIZE),
                                   transform=_SCALE, fill=0, dtype="uint8").astype(bool)
    return mask


def _stroked(lines: np.ndarray) -> np.ndarray:
    """The pixels a 1-pixel line along each line, ring or point (MVT grid units) passes, as a mask."""
    image = Image.new("L", (TILE_SIZE, TILE_SIZE))
    draw = ImageDraw.Draw(image)
    for line in _pixel_rings(lines):
        if len(line) > 2:
            draw.line(line, fill=1, width=1)
        else:
            draw.point(line, fill=1)
    return np.asarray(image, dtype=bool)


def _pixel_rings(geoms: np.ndarray):
    """Each geometry's coordinates as a flat [x0, y0, x1, y1, …] list in Pillow's pixel coordinates.

    Pillow puts integer coordinates on pixel centres; a pixel (col, row) covers MVT units
    [16·col, 16·(col + 1)), so a unit u is at pixel coordinate u / 16 − 0.5.
    """
    counts = shapely.get_num_coordinates(geoms)
    flat = (shapely.get_coordinates(geoms) / (EXTENT / TILE_SIZE) - 0.5).ravel().tolist()
    end = 0
    for count in counts.tolist():
        start, end = end, end + 2 * count
        yield flat[start:end]
