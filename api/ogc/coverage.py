"""OGC API – Coverages for raster layers: the mosaic of a layer's scenes, cut to a bbox, as GeoTIFF.

pygeoapi's own rasterio provider reads one file and transforms only two bbox corners; a layer is
several scenes, possibly in several CRSs, so this provider reads through layers.mosaic.
"""

from __future__ import annotations

from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)

from blueprint.errors import BlueprintError, NotFound
from layers import crs
from layers.imagery import visible_scenes
from layers.models import Layer
from layers.mosaic import layer_scenes, read_coverage

__all__ = ["SceneCoverageProvider", "GEOTIFF"]

GEOTIFF = {"name": "GTiff", "mimetype": "image/tiff; application=geotiff"}


class SceneCoverageProvider(BaseProvider):
    """Coverage of one raster layer (`data` is its slug): bands are the newest scene's."""

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        layer = Layer.objects.filter(slug=self.data, kind=Layer.Kind.RASTER).first()
        self.scenes = layer_scenes(layer) if layer else []
        if not self.scenes:
            raise ProviderItemNotFoundError(
                user_msg=f"图层 {self.data} 没有影像。 (No scene in {self.data}.)")
        top = self.scenes[0]
        self.filename = f"{self.data}.tif"
        geographic = top.crs in ("EPSG:4326", "EPSG:4490")
        self.axes = ["Long", "Lat"] if geographic else ["x", "y"]
        # A `subset` on these axes is a box in CRS84 (Long/Lat) or in the newest scene's CRS (x/y).
        self.axes_crs = "CRS84" if geographic else top.crs
        self.num_bands = len(top.bands)
        self._coverage_properties = _grid(layer)
        self.get_fields()

    def get_fields(self) -> dict:
        if not self._fields:
            self._fields = {str(i): {"title": name, "type": "integer", "x-ogc-unit": "DN"}
                            for i, name in enumerate(self.scenes[0].bands, start=1)}
        return self._fields

    def query(self, properties=None, subsets=None, bbox=None, bbox_crs=None, datetime_=None,
              format_="json", **kwargs):
        """Return the subset as GeoTIFF bytes (the only output: f=GTiff)."""
        if format_ not in ("GTiff", "tif", "tiff"):
            raise ProviderInvalidQueryError(
                user_msg="仅提供 GeoTIFF：请加 f=GTiff。 (Only GeoTIFF output is offered: add f=GTiff.)")
        if subsets:
            bbox, bbox_crs = self._subset_box(subsets, bbox)
        try:
            source = crs.parse_crs(bbox_crs or "CRS84")
            bands = [int(b) for b in properties or []]
            content, _meta = read_coverage(_on_or_before(self.scenes, datetime_),
                                           bbox=tuple(bbox) if bbox else None,
                                           bbox_crs=f"EPSG:{source.srid}", bands=bands)
        except (BlueprintError, ValueError) as exc:
            raise ProviderInvalidQueryError(user_msg=getattr(exc, "detail", str(exc))) from exc
        return content

    def _subset_box(self, subsets: dict, bbox) -> tuple[list, str]:
        """OGC API – Coverages `subset=x(lo:hi),y(lo:hi)` as a bbox (both axes, numbers)."""
        x_axis, y_axis = self.axes
        bounds = [subsets.get(axis) for axis in self.axes]
        if bbox or any(b is None or len(b) != 2 for b in bounds) \
                or not all(isinstance(v, (int, float)) for b in bounds for v in b):
            raise ProviderInvalidQueryError(
                user_msg=f"subset 须给出两轴的数值区间，如 subset={x_axis}(lo:hi),{y_axis}(lo:hi)，"
                         f"且不与 bbox 同用。 (subset takes a numeric interval on both axes,"
                         f" {x_axis} and {y_axis}, without bbox.)")
        (x0, x1), (y0, y1) = bounds
        return [x0, y0, x1, y1], self.axes_crs


def _on_or_before(scenes, datetime_: str | None):
    if not datetime_:
        return scenes
    end = str(datetime_).split("/")[-1][:10]
    chosen = [s for s in scenes if end in ("", "..") or s.acquired.isoformat() <= end]
    if not chosen:
        raise NotFound(f"{end} 及以前没有影像。 (No scene acquired on or before {end}.)")
    return chosen


def _grid(layer: Layer) -> dict:
    scene = visible_scenes(layer)[0]
    return {"width": scene.width, "height": scene.height, "resx": scene.resolution_m,
            "resy": scene.resolution_m, "bbox": list(scene.footprint.extent), "bbox_crs": "CRS84",
            "num_bands": len(scene.bands)}
