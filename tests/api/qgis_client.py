"""QGIS's OAPIF provider against the live server: run by the system python3 (Debian's python3-qgis),
never imported by pytest. Usage: qgis_client.py BASE_URL LAYER MINX MINY MAXX MAXY OUT.png

Prints JSON: whether the layer is valid, its feature count and CRS, the `MC`-or-first attribute of
every feature, of the features in the box (QGIS sends `bbox`), and the rendered map's extent.
"""

import json
import sys

from qgis.core import (
    QgsApplication,
    QgsFeatureRequest,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def main(base_url: str, slug: str, box: list[float], png: str) -> dict:
    layer = QgsVectorLayer(f"url='{base_url}' typename='{slug}'", slug, "OAPIF")
    if not layer.isValid():
        return {"valid": False}
    key = layer.fields()[0].name()
    in_box = layer.getFeatures(QgsFeatureRequest().setFilterRect(QgsRectangle(*box)))
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setOutputSize(QSize(400, 400))
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setExtent(layer.extent())
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    job.renderedImage().save(png)
    visible = settings.visibleExtent()
    return {"valid": True, "count": layer.featureCount(), "crs": layer.crs().authid(), "key": key,
            "all": sorted(str(f[key]) for f in layer.getFeatures()),
            "in_box": sorted(str(f[key]) for f in in_box),
            "extent": [visible.xMinimum(), visible.yMinimum(), visible.xMaximum(), visible.yMaximum()]}


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    result = main(sys.argv[1], sys.argv[2], [float(v) for v in sys.argv[3:7]], sys.argv[7])
    print(json.dumps(result, ensure_ascii=False))
    app.exitQgis()
