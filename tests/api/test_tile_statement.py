"""The tile statement skips the subdivided pieces of a version that has none, with the same tile."""

import mapbox_vector_tile
import morecantile
import pytest
import shapely

from layers import tiles as layer_tiles
from layers.models import FeaturePart, Layer
from tests.compliance import oracle

pytestmark = pytest.mark.django_db


def spec_of(slug: str, parts: bool) -> layer_tiles.TileSpec:
    layer = Layer.objects.select_related("active_version").get(slug=slug)
    version = layer.active_version
    return layer_tiles.TileSpec(slug, version.pk, layer_tiles.tile_fields(layer), True, version.extent.extent,
                                parts)


@pytest.mark.parametrize("slug", ["water_body", "admin_district"])
def test_parts_are_known_per_version(small_data, slug):
    version_id = Layer.objects.get(slug=slug).active_version_id
    assert layer_tiles.has_parts(version_id) == FeaturePart.objects.filter(version_id=version_id).exists()


def test_a_version_without_pieces_draws_the_same_tile_without_them(small_data):
    slug = "basic_farmland"  # small patches: nothing subdivided
    assert not layer_tiles.has_parts(Layer.objects.get(slug=slug).active_version_id)
    geoms, _ = oracle.layer_features(small_data, slug)
    lon, lat = shapely.centroid(geoms[0]).coords[0]
    for z in (12, 14, 16):  # narrower than PARTS_BELOW_DEGREES: the pieces' branch would be used
        tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
        request = layer_tiles.tile_request("WebMercatorQuad", z, tile.y, tile.x)
        with_branch = layer_tiles.render_tile(spec_of(slug, True), request)
        without = layer_tiles.render_tile(spec_of(slug, False), request)
        assert with_branch and features(with_branch, slug) == features(without, slug)


def features(tile: bytes, slug: str) -> list:
    decoded = mapbox_vector_tile.decode(tile)[slug]["features"]
    return sorted((f["id"], repr(f["geometry"]), sorted(f["properties"].items())) for f in decoded)
