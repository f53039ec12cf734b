"""QGIS (Debian's python3-qgis, its OAPIF provider) reads a layer from the live server and draws
it: the features and the box query equal the fixture file read with shapely, and the picture has
the water where the file says and blank paper where it has none."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from tests.compliance import oracle

pytestmark = pytest.mark.django_db
SYSTEM_PYTHON = "/usr/bin/python3"
CLIENT = Path(__file__).with_name("qgis_client.py")


def qgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=60)
    return probe.returncode == 0


requires_qgis = pytest.mark.skipif(not qgis_available(),
                                   reason="python3-qgis is not installed (setup.sh --test installs it)")


def run_qgis(server: str, slug: str, box, png: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(png.parent))
    done = subprocess.run([SYSTEM_PYTHON, str(CLIENT), f"{server}/ogc", slug, *map(str, box), str(png)],
                          capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@requires_qgis
def test_qgis_reads_and_draws_a_layer(server, small_data, tmp_path):
    geoms, props = oracle.layer_features(small_data, "water_body")
    box = (116.9, 34.5, 117.3, 34.9)
    png = tmp_path / "water_body.png"
    result = run_qgis(server, "water_body", box, png)
    assert result["valid"] and result["crs"] == "EPSG:4326"  # CRS84 as QGIS names it
    key = result["key"]
    assert result["count"] == len(geoms)
    assert result["all"] == sorted(str(p[key]) for p in props)
    assert result["in_box"] == sorted(str(p[key]) for g, p in zip(geoms, props, strict=True)
                                      if g.intersects(shapely.box(*box)))
    picture = np.asarray(Image.open(png).convert("RGB"))
    height, width, _ = picture.shape
    west, south, east, north = result["extent"]

    def pixel(x, y):
        col = int((x - west) / (east - west) * width)
        row = int((north - y) / (north - south) * height)
        return picture[min(row, height - 1), min(col, width - 1)]

    water = shapely.union_all(geoms)
    lake = max(geoms, key=lambda g: g.area)
    inside = shapely.get_coordinates(lake.buffer(-0.01).representative_point())[0]  # well inside
    assert tuple(pixel(*inside)) != (255, 255, 255)
    blank = [(x, y) for x in np.linspace(west, east, 9)[1:-1] for y in np.linspace(south, north, 9)[1:-1]
             if shapely.Point(x, y).distance(water) > 0.05]
    assert blank and all(tuple(pixel(x, y)) == (255, 255, 255) for x, y in blank)
