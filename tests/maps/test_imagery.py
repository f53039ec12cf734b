"""Imagery by date: two dates side by side, over our own tiles."""

from __future__ import annotations

import pytest

from layers.models import Layer

pytestmark = pytest.mark.django_db


def test_two_dates_side_by_side(watched):
    assert Layer.objects.filter(slug="hires_jining", active_version__isnull=False).exists()
    page = watched.page
    page.goto("/maps/imagery")
    watched.wait_idle()
    page.wait_for_function("() => document.querySelectorAll('#bp-date-left option').length > 0")
    page.wait_for_selector(".bp-imagery-left img.leaflet-tile-loaded")
    page.wait_for_selector(".bp-imagery-right img.leaflet-tile-loaded")
    left = page.locator(".bp-imagery-left img.leaflet-tile").first.get_attribute("src")
    right = page.locator(".bp-imagery-right img.leaflet-tile").first.get_attribute("src")
    assert "/tiles/imagery/" in left and "date=" in left and "date=" in right
    dates = page.locator("#bp-date-left option").count()
    if dates > 1:
        assert left.split("date=")[1] != right.split("date=")[1]
    # The two maps move together.
    page.evaluate("BP.map.setView([35.4, 116.6], 12, {animate: false})")
    centre = page.evaluate("(() => { const c = BP.compareRight.getCenter(); return [c.lat, c.lng,"
                           " BP.compareRight.getZoom()]; })()")
    assert centre == pytest.approx([35.4, 116.6, 12], abs=1e-6)
