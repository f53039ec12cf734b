"""The OGC API face: pygeoapi 0.24 mounted under /ogc/, fed by the layer registry."""
