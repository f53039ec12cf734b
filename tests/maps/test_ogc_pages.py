"""pygeoapi's own HTML pages under /ogc/ work offline: their maps, styles and the OpenAPI viewer
come from our site (the `watched` fixture fails on any request to another host and on any console
error, which is also how a script refused by the Content-Security-Policy shows)."""

import json

import pytest

pytestmark = pytest.mark.django_db


def stylesheet_rules(page, name: str) -> int:
    """How many rules the page's stylesheet `name` holds (0 when it did not load)."""
    return page.evaluate("""name => [...document.styleSheets]
        .filter(s => (s.href || '').endsWith(name)).reduce((n, s) => n + s.cssRules.length, 0)""", name)


def test_the_items_page_draws_its_features_on_a_map_from_our_own_leaflet(staff, server):
    page = staff.page
    page.goto("/ogc/collections/admin_district/items?f=html&limit=5")
    page.wait_for_selector(".leaflet-container path.leaflet-interactive", timeout=15_000)
    features = json.loads(page.evaluate("() => fetch('?f=json&limit=5').then(r => r.text())"))["features"]
    assert page.locator("path.leaflet-interactive").count() == len(features) > 0
    assert stylesheet_rules(page, "/static/vendor/bootstrap/bootstrap.min.css") > 1000
    assert stylesheet_rules(page, "/static/maps/vendor/leaflet/leaflet.css") > 10
    assert "unpkg.com" not in page.content() and "cdn.jsdelivr.net" not in page.content()


def test_the_openapi_page_renders_with_our_swagger_ui(staff):
    page = staff.page
    page.goto("/ogc/openapi?f=html")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 10  # the API's operations, listed


def test_the_landing_and_collections_pages_load_only_our_files(staff, server):
    page = staff.page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    for path in ("/ogc/?f=html", "/ogc/collections?f=html", "/ogc/collections/admin_district?f=html"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert stylesheet_rules(page, "/static/vendor/bootstrap/bootstrap.min.css") > 1000
    assert requested and all(url.startswith(server) for url in requested)
