"""Read a zipped Shapefile (.shp + .shx + .dbf + .prj in one .zip)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from blueprint.errors import InvalidInput, UnknownCRS
from compliance.parsers._common import Options, RawSite, limits, resolve_source
from compliance.parsers._ogr import read_layers
from layers import crs as crsmod

__all__ = ["read"]


def read(data: bytes, options: Options) -> RawSite:
    """Read the one Shapefile in a zip; its .prj gives the CRS unless `crs` or `zone` is passed."""
    with tempfile.TemporaryDirectory(prefix="site-") as folder:
        archive = Path(folder) / "site.zip"
        archive.write_bytes(data)
        shp, has_prj = _members(archive)
        if not has_prj and options.crs is None and options.zone is None:
            raise InvalidInput(
                f"压缩包中的 {shp} 缺少同名 .prj 坐标系文件。请连同 .prj 一起打包，或用 crs 参数声明坐标系"
                f" (如 EPSG:4527)。 ({shp} in the zip has no .prj file: zip it with its .prj, or declare the"
                " CRS with the crs parameter, e.g. EPSG:4527.)"
            )
        # GDAL reads straight from the archive; nothing is extracted.
        geometries, declared = read_layers(f"/vsizip/{archive}/{shp}", "Shapefile")
    warnings = []
    if declared and options.crs:
        try:
            crsmod.parse_crs(declared)
        except UnknownCRS:
            declared = None
            warnings.append(
                f"无法识别 .prj 中的坐标系，按请求声明的 {options.crs} 处理。"
                f" (The .prj CRS is not recognised; the requested {options.crs} is used.)"
            )
    declared = declared if has_prj else None
    source = resolve_source(options.crs, options.zone, declared, geometries, default=None)
    return RawSite(geometries, source, warnings)


def _members(archive: Path) -> tuple[str, bool]:
    try:
        with zipfile.ZipFile(archive) as bundle:
            infos = [i for i in bundle.infolist() if not i.filename.startswith("__MACOSX/")]
    except zipfile.BadZipFile as exc:
        raise InvalidInput(
            "压缩包已损坏，无法打开。请重新打包。"
            " (The zip archive is damaged and cannot be opened: zip it again.)"
        ) from exc
    unpacked, limit = sum(i.file_size for i in infos), limits()["bytes"]
    if unpacked > limit:
        raise InvalidInput(
            f"压缩包解压后 {unpacked} 字节，超过上限 {limit} 字节。请只打包用地红线。 (The zip unpacks to"
            f" {unpacked} bytes, more than the limit of {limit}: zip only the site boundary.)"
        )
    names = [i.filename for i in infos]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if len(shps) != 1:
        found = "、".join(shps) or "无 (none)"
        raise InvalidInput(
            f"压缩包中应恰好有一个 .shp 文件，实际为：{found}。请只打包用地红线图层。"
            f" (The zip must hold exactly one .shp file; found: {found}. Zip only the site layer.)"
        )
    stem = str(PurePosixPath(shps[0]).with_suffix("")).lower()
    return shps[0], f"{stem}.prj" in {n.lower() for n in names}
