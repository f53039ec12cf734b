"""The attachments that travel in the rows: a zipped Shapefile (控制线) and a 界址坐标 TXT (界址)."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry

from layers import crs
from layers.exports import zipped_shapefile  # the layers' own writer: GBK, .cpg, CGCS2000 .prj

__all__ = ["zipped_shapefile", "boundary_txt"]

_HEADER = ("[属性描述]\r\n格式版本号=1.01版本\r\n数据产生单位=一张蓝图\r\n坐标系=2000国家大地坐标系\r\n"
           "几度分带=3\r\n投影类型=高斯克吕格\r\n计量单位=米\r\n带号={zone}\r\n精度=0.0001\r\n"
           "转换参数=,,,,,,\r\n[地块坐标]\r\n")


def boundary_txt(geom: BaseGeometry, *, code: str, name: str, use: str = "") -> bytes:
    """Write a site as a 界址坐标 TXT (GBK): one parcel per polygon, X north and Y east in metres,
    CGCS2000 3-degree Gauss–Krüger with the zone prefix, rings numbered by 圈号."""
    lon = geom.centroid.x
    zone = round(lon / 3)
    source = crs.gauss_kruger(zone, prefixed=True)
    lines = [_HEADER.format(zone=zone)]
    for index, polygon in enumerate(shapely.get_parts(geom), start=1):
        projected = crs.from_cgcs2000(shapely.orient_polygons(polygon), source.srid)
        points, counter = [], 0
        for ring_number, ring in enumerate([projected.exterior, *projected.interiors], start=1):
            coords = list(ring.coords)
            first = counter + 1
            for j, (east, north) in enumerate(coords):
                closing = j == len(coords) - 1  # repeats the ring's first point and its name
                counter += not closing
                points.append(f"J{first if closing else counter},{ring_number},{north:.4f},{east:.4f}")
        hectares = crs.ellipsoidal_area_m2(polygon) / 10_000
        lines.append(f"{len(points)},{hectares:.4f},{code}-{index},{name},面,,{use},,@\r\n")
        lines += [p + "\r\n" for p in points]
    return "".join(lines).encode("gbk")
