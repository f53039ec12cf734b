"""The admin's map widget, with OpenLayers served from our own static files."""

from django.contrib.gis.forms.widgets import OpenLayersWidget

__all__ = ["LocalMapWidget"]


class LocalMapWidget(OpenLayersWidget):
    """Django's OpenLayers widget without a CDN or an internet base map."""

    template_name = "layers/map_widget.html"

    class Media:
        extend = False  # Django's own Media lists the CDN copies; replace, don't add
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")
