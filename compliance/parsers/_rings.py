"""Build polygons from loose closed rings (TXT 圈, DXF closed polylines) by how they nest."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from blueprint.errors import InvalidGeometry

__all__ = ["polygons_from_rings"]


def polygons_from_rings(rings: list[np.ndarray], where: tuple[str, str]) -> Polygon | MultiPolygon:
    """Turn rings of (x, y) into polygons: a ring inside an odd number of others is a hole.

    `where` names the parcel or layer in error messages, in Chinese and English.
    """
    shells = [_shell(ring, where, number) for number, ring in enumerate(rings, start=1)]
    order = sorted(range(len(shells)), key=lambda i: -abs(shells[i].area))
    parent: dict[int, int | None] = {}
    depth: dict[int, int] = {}
    for position, i in enumerate(order):
        # Sorted by decreasing area, so the last ring that contains this one is its direct parent.
        containing = [j for j in order[:position] if _inside(shells[i], shells[j])]
        parent[i] = containing[-1] if containing else None
        depth[i] = depth[parent[i]] + 1 if containing else 0
    holes: dict[int, list] = {i: [] for i in order if depth[i] % 2 == 0}
    for i in order:
        if depth[i] % 2:
            holes[parent[i]].append(shells[i].exterior)
    polygons = [Polygon(shells[i].exterior, holes[i]) for i in holes]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _shell(ring: np.ndarray, where: tuple[str, str], number: int) -> Polygon:
    points = np.asarray(ring, dtype=float)
    if len(np.unique(points, axis=0)) < 3:
        raise InvalidGeometry(
            f"{where[0]} 的第 {number} 个环不足 3 个不同的点，构不成面。请补全界址点。"
            f" ({where[1]}: ring {number} has fewer than 3 distinct points and encloses no area:"
            " complete its boundary points.)"
        )
    return Polygon(points)


def _inside(inner: Polygon, outer: Polygon) -> bool:
    # Vertex tests work even on invalid rings, where GEOS predicates may refuse to answer.
    xy = shapely.get_coordinates(inner.exterior)[:-1]
    if not shapely.contains_xy(outer.envelope, xy[:, 0], xy[:, 1]).any():
        return False
    covered = shapely.intersects_xy(outer, xy[:, 0], xy[:, 1])
    return bool(covered.all() and shapely.contains_xy(outer, xy[:, 0], xy[:, 1]).any())
