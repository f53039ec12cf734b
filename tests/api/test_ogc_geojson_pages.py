"""Items pages whose features PostGIS writes (api.ogc.geojson_pages), checked against the source
files and against the HTML page, which still goes through pygeoapi's feature dicts."""

import json
import urllib.parse

import numpy as np
import pytest
import shapely

from layers.importers import import_layer
from layers.services import register_layer
from tests.compliance import oracle
from tests.layers.helpers import jining_patches, write_geojson

pytestmark = pytest.mark.django_db
ITEMS = "/ogc/collections/{}/items"


def pages(client, slug: str, **params) -> list[dict]:
    """Every page of a collection, following its `next` links; each page checked for its own counts."""
    url, answers = ITEMS.format(slug) + "?" + urllib.parse.urlencode({"f": "json", **params}), []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        page = response.json()
        assert page["numberReturned"] == len(page["features"])
        answers.append(page)
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = urllib.parse.urlsplit(nxt[0])._replace(scheme="", netloc="").geturl() if nxt else None
    return answers


def test_paged_features_are_the_source_features(client, small_data):
    answers = pages(client, "water_body", limit=2)
    features = [f for page in answers for f in page["features"]]
    geoms, props = oracle.layer_features(small_data, "water_body")
    assert len(features) == len(geoms) == answers[0]["numberMatched"] and len(answers) > 1
    served = {f["properties"]["MC"]: f for f in features}
    for geom, prop in zip(geoms, props, strict=True):
        feature = served[prop["MC"]]
        assert feature["type"] == "Feature" and isinstance(feature["id"], int)
        assert np.allclose(shapely.get_coordinates(shapely.geometry.shape(feature["geometry"])),
                           shapely.get_coordinates(geom), atol=1e-8)
        assert {k: v for k, v in feature["properties"].items() if v is not None} == \
            {k: v for k, v in prop.items() if v is not None and v == v}
    assert len({f["id"] for f in features}) == len(features)  # no feature on two pages


def test_property_selection_skipped_geometry_and_sorting(client, small_data):
    _geoms, props = oracle.layer_features(small_data, "water_body")
    only = pages(client, "water_body", properties="MC", skipGeometry="true", sortby="-MC", limit=100)[0]
    assert all(set(f["properties"]) == {"MC"} and f["geometry"] is None for f in only["features"])
    names = [f["properties"]["MC"] for f in only["features"]]
    assert names == sorted((p["MC"] for p in props), reverse=True)


def test_the_json_page_and_the_html_page_list_the_same_features(client, small_data):
    query = {"limit": 3, "offset": 1, "sortby": "MC"}
    page = client.get(ITEMS.format("water_body"), {"f": "json", **query}).json()
    html = client.get(ITEMS.format("water_body"), {"f": "html", **query}).content.decode()
    assert [f["properties"]["MC"] for f in page["features"]]
    assert all(f["properties"]["MC"] in html for f in page["features"])


def test_markup_in_values_is_escaped_as_pygeoapi_escapes_it(client, tmp_path):
    """pygeoapi writes < and > in JSON answers as &lt; and &gt;; the PostGIS path does the same,
    and the document stays valid JSON with quotes, backslashes and CJK in values."""
    layer = register_layer("page_markup_test", "标记测试", "Markup test", fields={"MC": "string"},
                           access_level="public")[0]
    values = ['<script>"x"</script>', "a\\b", "济宁\t河"]
    import_layer(layer.slug, write_geojson(tmp_path / "m.geojson", jining_patches(3),
                                           [{"MC": v} for v in values]))
    body = client.get(ITEMS.format(layer.slug), {"f": "json", "sortby": "MC"}).content.decode()
    assert "<" not in body and ">" not in body
    served = sorted(f["properties"]["MC"] for f in json.loads(body)["features"])
    expected = sorted(v.replace("<", "&lt;").replace(">", "&gt;") for v in values)
    assert served == expected


def test_a_page_past_the_end_and_hits_have_no_features(client, small_data):
    matched = client.get(ITEMS.format("water_body"), {"f": "json", "resulttype": "hits"}).json()
    assert matched["features"] == [] and matched["numberMatched"] > 0
    past = client.get(ITEMS.format("water_body"), {"f": "json", "offset": matched["numberMatched"]}).json()
    assert past["features"] == [] and past["numberReturned"] == 0
