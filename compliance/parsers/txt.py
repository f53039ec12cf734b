"""Read the 国土资源部 boundary-point file (界址坐标 TXT): `[属性描述]` then `[地块坐标]`.

Each parcel starts with `点数,面积,编号,名称,面,图幅号,用途,地类编码,@` and lists points as
`J1,圈号,X,Y` where X is the NORTHING and Y the EASTING (surveying convention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
from shapely.geometry.base import BaseGeometry

from blueprint.errors import CoordinatesOutOfRange, InvalidInput
from compliance.parsers._common import Options, RawSite, decode_text
from compliance.parsers._rings import polygons_from_rings
from compliance.parsers._txt_crs import source_crs
from layers import crs as crsmod

__all__ = ["read"]

_HEADER_FIELDS = ("点数", "面积", "编号", "名称", "面", "图幅号", "用途", "地类编码")
# 面积 is usually in 公顷; some software writes m² or 亩. A unit that fits within 1 % is accepted.
_AREA_UNITS = (("公顷", 10_000.0), ("平方米", 1.0), ("亩", crsmod.SQUARE_METRES_PER_MU))
_TOLERANCE = 0.01


@dataclass
class _Parcel:
    header: list[str]
    line: int
    points: list[tuple[int, str, float, float]] = field(default_factory=list)  # line, 圈号, X(北), Y(东)

    @property
    def label(self) -> tuple[str, str]:
        """Name the parcel in Chinese and English, by its 编号 or else its line."""
        if len(self.header) > 2 and self.header[2]:
            return f"地块 {self.header[2]}", f"parcel {self.header[2]}"
        return f"第 {self.line} 行的地块", f"the parcel at line {self.line}"


def read(data: bytes | str, options: Options) -> RawSite:
    """Read a 界址坐标 TXT file (UTF-8 or GBK/GB18030) with one or more parcels."""
    attributes, parcels = _parse(decode_text(data))
    _check_swapped(parcels)
    geometries = [_geometry(parcel) for parcel in parcels]
    source, warnings = source_crs(attributes, geometries, options)
    records = [_record(parcel) for parcel in parcels]
    for record in records:
        if record["点数"] is not None and record["点数"] != record["界址点数"]:
            warnings.append(
                f"地块 {record['编号']} 声明 {record['点数']} 个点，实际读到 {record['界址点数']} 个，"
                "请核对文件是否完整。"
                f" (Parcel {record['编号']} declares {record['点数']} points but lists"
                f" {record['界址点数']}: check the file is complete.)"
            )
    return RawSite(geometries, source, warnings, records, audit=partial(_audit, records))


def _parse(text: str) -> tuple[dict[str, str], list[_Parcel]]:
    section, attributes, parcels = "", {}, []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().replace("，", ",").replace("＝", "=")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif section == "[属性描述]":
            key, _, value = line.partition("=")
            attributes[key.strip()] = value.strip()
        elif section == "[地块坐标]":
            fields = [f.strip() for f in line.split(",")]
            if fields[-1] == "@":
                parcels.append(_Parcel(fields[:-1], number))
            elif not parcels:
                raise _bad_line(
                    number, "界址点之前缺少地块行 (…,@)", "a point comes before any parcel line (…,@)"
                )
            else:
                parcels[-1].points.append(_point(fields, number))
    if not parcels or not any(p.points for p in parcels):
        raise InvalidInput(
            "界址坐标文件中没有 [地块坐标] 段或没有任何界址点。 (The boundary-point file has no [地块坐标]"
            " section or no points in it.)"
        )
    return attributes, parcels


def _point(fields: list[str], number: int) -> tuple[int, str, float, float]:
    if len(fields) < 4:
        raise _bad_line(
            number, "界址点行应为 点号,圈号,X(北),Y(东)", "a point line is name,ring,X(north),Y(east)"
        )
    try:
        return number, fields[1], float(fields[2]), float(fields[3])
    except ValueError:
        raise _bad_line(number, "坐标不是数字", "the coordinates are not numbers") from None


def _bad_line(number: int, zh: str, en: str) -> InvalidInput:
    return InvalidInput(f"界址坐标文件第 {number} 行有误：{zh}。 (Boundary-point file line {number}: {en}.)")


def _check_swapped(parcels: list[_Parcel]) -> None:
    points = np.array([p[2:] for parcel in parcels for p in parcel.points])
    north, east = points[:, 0], points[:, 1]
    prefix_on_north = (north >= 1e7).all() and (east < 1e7).all()
    # Gauss–Krüger eastings without prefix stay within a few hundred km of 500 000 m.
    plain_swapped = ((east >= 1e6) & (east < 1e7)).all() and (north < 1e6).all()
    if prefix_on_north or plain_swapped:
        raise CoordinatesOutOfRange(
            "X 与 Y 两列可能颠倒：界址坐标文件中 X 是北坐标 (如 3915234.12)、"
            "Y 是东坐标 (如 39512345.67 或 512345.67)。"
            "请交换两列后重新提交。 (X and Y look swapped: in a boundary-point file X is the northing"
            " (e.g. 3915234.12) and Y the easting (e.g. 39512345.67 or 512345.67); swap the columns.)"
        )


def _geometry(parcel: _Parcel) -> BaseGeometry:
    """Split the parcel's points into rings and nest them: a ring ends on its first point or a new 圈号."""
    rings: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    current_ring = None
    for _, ring, north, east in parcel.points:
        if current and ring != current_ring:
            rings.append(current)
            current = []
        if not current:
            current_ring = ring
        current.append((east, north))
        if len(current) > 1 and current[-1] == current[0]:
            rings.append(current)
            current = []
    if current:
        rings.append(current)
    return polygons_from_rings([np.array(r) for r in rings], parcel.label)


def _record(parcel: _Parcel) -> dict:
    values = dict(zip(_HEADER_FIELDS, parcel.header + [""] * len(_HEADER_FIELDS), strict=False))
    return {
        "编号": values["编号"],
        "名称": values["名称"],
        "用途": values["用途"],
        "地类编码": values["地类编码"],
        "图幅号": values["图幅号"],
        "点数": _number(values["点数"], int),
        "界址点数": len(parcel.points),
        "申报面积": _number(values["面积"], float),
    }


def _number(text: str, kind: type) -> float | int | None:
    try:
        return kind(text)
    except ValueError:
        return None


def _audit(records: list[dict], geometries: list[BaseGeometry]) -> list[str]:
    """Compare each declared 面积 with the ellipsoidal area; record the area and the unit that fits."""
    warnings = []
    for record, geometry in zip(records, geometries, strict=True):
        computed = crsmod.ellipsoidal_area_m2(geometry)
        record["计算面积_m2"] = round(computed, 2)
        declared = record["申报面积"]
        if not declared or computed <= 0:
            continue
        fits = (name for name, m2 in _AREA_UNITS if abs(declared * m2 - computed) <= _TOLERANCE * computed)
        unit = next(fits, None)
        record["申报面积单位"] = unit
        if unit is None:
            hectares = computed / 10_000
            warnings.append(
                f"地块 {record['编号']} 申报面积 {declared} 公顷与按界址点计算的椭球面积 {hectares:.4f} 公顷"
                f" ({computed:.2f} 平方米) 相差超过 1%，请核对界址点或面积。 (Parcel {record['编号']}: the"
                f" declared area {declared} ha differs by more than 1 % from the ellipsoidal area of its"
                f" boundary points, {hectares:.4f} ha ({computed:.2f} m²): check the points or the area.)"
            )
    return warnings
