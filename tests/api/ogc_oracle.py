"""Expected answers for the OGC tests, from the fixture files read with shapely."""

import shapely

from tests.compliance import oracle


def envelope_only_box(small_data):
    """A small box inside a county's envelope but off every county's geometry: a test that an
    envelope filter passes and a geometry filter does not."""
    geoms, _ = oracle.layer_features(small_data, "admin_district")
    for geom in geoms:
        west, south, east, north = geom.bounds
        for x, y in ((west, south), (east, south), (east, north), (west, north)):
            box = shapely.box(x - 0.005, y - 0.005, x + 0.005, y + 0.005)
            hits = shapely.intersects(geoms, box)
            envelope_hits = shapely.intersects(shapely.envelope(geoms), box)
            if envelope_hits.sum() > hits.sum():
                return box.bounds, int(hits.sum()), int(envelope_hits.sum())
    raise LookupError("every county fills its envelope's corners")
