"""Read a CAD red-line drawing (DXF): the closed polylines of one layer; nested ones are holes."""

from __future__ import annotations

import io

import ezdxf
import ezdxf.path
import ezdxf.recover
import numpy as np
import shapely
from ezdxf.entities import DXFGraphic
from ezdxf.layouts import Modelspace

from blueprint.errors import InvalidInput, echo
from compliance.parsers._common import Options, RawSite, resolve_source
from compliance.parsers._rings import polygons_from_rings

__all__ = ["read"]

# Largest gap allowed between an arc (bulge) and the chords replacing it, in source units.
_ARC_TOLERANCE_METRES = 0.01
_ARC_TOLERANCE_DEGREES = 1e-7


def read(data: bytes | str, options: Options) -> RawSite:
    """Read the red-line layer; DXF carries no CRS, so it comes from `crs`, `zone` or the eastings."""
    modelspace = _open(data)
    layers = _closed_polylines(modelspace)
    name = _choose_layer(layers, options.dxf_layer)
    paths = [ezdxf.path.make_path(entity) for entity in layers[name]]
    # DXF x is the easting and y the northing, like ours: no swap here.
    vertices = shapely.MultiPoint([(v.x, v.y) for path in paths for v in path.control_vertices()])
    source = resolve_source(options.crs, options.zone, None, [vertices], default=None)
    tolerance = _ARC_TOLERANCE_DEGREES if source.is_geographic else _ARC_TOLERANCE_METRES
    rings = [np.array([(v.x, v.y) for v in path.flattening(tolerance)]) for path in paths]
    geometry = polygons_from_rings(rings, (f"图层 “{name}”", f"layer '{name}'"))
    return RawSite([geometry], source)


def _open(data: bytes | str) -> Modelspace:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        # recover copes with the sloppy DXF many CAD exporters write, and with binary DXF.
        document, _ = ezdxf.recover.read(io.BytesIO(raw))
    except ezdxf.DXFError as exc:
        raise InvalidInput(
            f"DXF 文件无法读取：{echo(exc, 200)}。请在 CAD 中另存为 DXF (R2000 或更高版本) 后重新提交。"
            f" (The DXF cannot be read: {echo(exc, 200)}. Save it again as DXF (R2000 or later) from CAD.)"
        ) from exc
    return document.modelspace()


def _closed_polylines(modelspace: Modelspace) -> dict[str, list[DXFGraphic]]:
    layers: dict[str, list[DXFGraphic]] = {}
    for entity in modelspace.query("LWPOLYLINE POLYLINE"):
        if entity.dxftype() == "POLYLINE" and (entity.is_poly_face_mesh or entity.is_polygon_mesh):
            continue
        # make_path closes flagged polylines; unflagged ones whose ends meet count as closed too.
        if ezdxf.path.make_path(entity).is_closed:
            layers.setdefault(entity.dxf.layer, []).append(entity)
    return layers


def _choose_layer(layers: dict[str, list[DXFGraphic]], wanted: str | None) -> str:
    listed = "、".join(sorted(layers)) or "无 (none)"
    if wanted is not None:
        # DXF layer names are case-insensitive.
        match = [name for name in layers if name.lower() == wanted.strip().lower()]
        if match:
            return match[0]
        raise InvalidInput(
            f"图层 “{wanted}” 中没有闭合多段线。含闭合多段线的图层：{listed}。"
            f" (Layer '{wanted}' has no closed polylines; layers with closed polylines: {listed}.)"
        )
    if len(layers) == 1:
        return next(iter(layers))
    if not layers:
        raise InvalidInput(
            "DXF 中没有闭合多段线。用地红线应画成闭合的多段线 (LWPOLYLINE/POLYLINE，勾选“闭合”)。"
            " (The DXF has no closed polylines: draw the site boundary as a closed LWPOLYLINE/POLYLINE.)"
        )
    raise InvalidInput(
        f"多个图层含有闭合多段线：{listed}。请用 dxf_layer 参数指明哪个是用地红线图层。"
        f" (Several layers hold closed polylines: {listed}. Name the red-line layer with dxf_layer.)"
    )
