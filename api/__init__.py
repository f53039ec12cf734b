"""REST (DRF) and OGC (pygeoapi) faces over the services."""
