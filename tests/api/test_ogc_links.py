"""Every link on /ogc/ can be followed as a client would: absolute, no redirect, no 404, URL
templates flagged `templated`, exactly one `self` per document; raster collections said to be
coverages, offering only the formats that answer, over real HTTP."""

import re
from collections import deque

import pytest
import requests

pytestmark = pytest.mark.django_db
TEMPLATE = re.compile(r"\{[A-Za-z_]\w*\}")
COVERAGE_REL = "http://www.opengis.net/def/rel/ogc/1.0/coverage"
# Data behind links (tiles, coverages, pages of items) is fetched by other tests; here the metadata.
DATA = re.compile(r"/items|/coverage|/map/tiles/|/tiles/\w+/\d|f=(html|jsonld|csv)")


def link_lists(document):
    """Every `links` array of a document, with the path to it."""
    found = []
    def walk(node, where):
        if isinstance(node, dict):
            if isinstance(node.get("links"), list):
                found.append((where, node["links"]))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")
    walk(document, "")
    return found


def crawl(server: str, limit: int = 80):
    """The JSON documents reachable from the landing page (breadth first), {url: document}."""
    seen, queue, documents = set(), deque([f"{server}/ogc/?f=json"]), {}
    while queue and len(documents) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = requests.get(url, allow_redirects=False)
        assert response.status_code in (200, 401), (url, response.status_code)  # 401: jobs, anonymous
        if response.status_code != 200 or "json" not in response.headers["Content-Type"]:
            continue
        documents[url] = response.json()
        for _where, links in link_lists(documents[url]):
            for link in links:
                href = link["href"]
                if not link.get("templated") and not DATA.search(href) and href.startswith(server):
                    queue.append(href)
    return documents


@pytest.fixture(scope="module")
def documents(server):
    return crawl(server)


def test_links_are_absolute_followable_and_templates_flagged(server, documents):
    assert len(documents) > 10
    for url, document in documents.items():
        for where, links in link_lists(document):
            for link in links:
                href = link["href"]
                assert href.startswith(("http://", "https://")), (url, where, href)
                assert bool(TEMPLATE.search(href)) == bool(link.get("templated")), (url, where, href)


def test_every_followed_link_answers_without_a_redirect(server, documents):
    """crawl() asserts 200 (or 401 for the job list) on every link it follows, redirects refused;
    this names what it followed, so that a shrinking crawl shows."""
    paths = {url.removeprefix(server).split("?")[0] for url in documents}
    assert {"/ogc", "/ogc/", "/ogc/collections", "/ogc/conformance", "/ogc/TileMatrixSets",
            "/ogc/TileMatrixSets/WebMercatorQuad", "/ogc/collections/water_body",
            "/ogc/collections/hires_jining", "/ogc/collections/water_body/tiles"} <= paths


def test_exactly_one_self_per_document(documents):
    for url, document in documents.items():
        if "links" not in document:
            continue
        top = [link for link in document["links"] if link["rel"] == "self"]
        assert len(top) == 1, (url, top)
        for where, links in link_lists(document):
            assert sum(link["rel"] == "self" for link in links) <= 1, (url, where)


def test_raster_collections_are_coverages_in_their_working_formats(server):
    collections = requests.get(f"{server}/ogc/collections", params={"f": "json"}).json()["collections"]
    rasters = [c for c in collections if c["id"] in ("blue_marble", "hillshade", "hires_jining")]
    assert len(rasters) == 3
    for collection in rasters:
        assert collection["itemType"] == "coverage"
        assert not any(link["rel"] == "items" for link in collection["links"])
        offered = [link for link in collection["links"] if link["rel"] == COVERAGE_REL]
        assert offered
        for link in offered:  # every advertised format answers, in that format
            response = requests.get(link["href"], params={"bbox": ",".join(map(str, _small_box(collection)))})
            assert response.status_code == 200, (link, response.text[:200])
            assert response.headers["Content-Type"].split(";")[0] == link["type"].split(";")[0]
        tiles = next(link for link in collection["links"] if link["rel"].endswith("tilesets-map"))
        assert tiles["href"].startswith(server) and requests.get(tiles["href"]).status_code == 200


def _small_box(collection):
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    x, y = (west + east) / 2, (south + north) / 2  # a twentieth of the extent, at its middle
    return x, y, x + (east - west) / 20, y + (north - south) / 20


def test_coverage_format_by_accept(server):
    url = f"{server}/ogc/collections/hires_jining/coverage"
    box = {"bbox": "116.545,35.355,116.546,35.356"}
    tiff = requests.get(url, params=box, headers={"Accept": "image/tiff"})
    assert tiff.status_code == 200 and tiff.headers["Content-Type"].startswith("image/tiff")
    assert tiff.content[:4] in (b"II*\x00", b"MM\x00*")
    refused = requests.get(url, params=box, headers={"Accept": "application/prs.coverage+json"})
    assert refused.status_code == 406 and "GeoTIFF" in refused.json()["description"]
    asked = requests.get(url, params={**box, "f": "json"})
    assert asked.status_code == 400 and "GeoTIFF" in asked.json()["description"]
