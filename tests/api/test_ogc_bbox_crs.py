"""`bbox-crs` on OGC API Features: EPSG:4490 latitude first, EPSG:3857 in metres, both selecting the
same features as the CRS84 box — expected sets from the fixture file and pyproj on the test side."""

import pytest
import shapely
from pyproj import Transformer

from tests.compliance import oracle

pytestmark = pytest.mark.django_db
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
BOX = (116.9, 34.5, 117.3, 34.9)  # lon/lat around 微山湖, with lakes on its edges


def expected_names(small_data, box) -> list[str]:
    geoms, props = oracle.layer_features(small_data, "water_body")
    hits = shapely.intersects(geoms, shapely.box(*box))
    return sorted(p["MC"] for p, hit in zip(props, hits, strict=True) if hit)


def served_names(client, bbox, bbox_crs=None) -> list[str]:
    params = {"f": "json", "limit": 1000, "bbox": ",".join(f"{v:.9f}" for v in bbox)}
    if bbox_crs:
        params["bbox-crs"] = EPSG + bbox_crs
    response = client.get("/ogc/collections/water_body/items", params)
    assert response.status_code == 200, response.content
    return sorted(f["properties"]["MC"] for f in response.json()["features"])


def test_bbox_crs_4490_is_latitude_first(client, small_data):
    west, south, east, north = BOX
    expected = expected_names(small_data, BOX)
    assert 0 < len(expected) < len(oracle.layer_features(small_data, "water_body")[0])
    assert served_names(client, BOX) == expected
    assert served_names(client, (south, west, north, east), "4490") == expected
    # The same numbers read longitude first land in the sea east of Korea: nothing there.
    assert served_names(client, BOX, "4490") == expected_names(small_data, (south, west, north, east)) == []


def test_bbox_crs_3857_selects_the_same_features(client, small_data):
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_mercator.transform([BOX[0], BOX[2]], [BOX[1], BOX[3]])
    assert served_names(client, (x0, y0, x1, y1), "3857") == expected_names(small_data, BOX)


def test_bbox_crs_not_offered_is_an_ogc_exception(client):
    response = client.get("/ogc/collections/water_body/items",
                          {"f": "json", "bbox": "1,2,3,4", "bbox-crs": EPSG + "4527"})
    assert response.status_code == 400 and "code" in response.json()
