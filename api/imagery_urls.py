"""XYZ tiles of the raster layers: /tiles/imagery/{slug}/{z}/{x}/{y}.{png|jpg|webp}."""

from django.urls import re_path

from api import imagery

__all__ = ["urlpatterns"]

urlpatterns = [
    re_path(r"^(?P<slug>[-\w]+)/(?P<z>\d{1,2})/(?P<x>\d{1,8})/(?P<y>\d{1,8})\.(?P<fmt>png|jpg|jpeg|webp)$",
            lambda request, slug, z, x, y, fmt: imagery.tile(request, slug, int(z), int(x), int(y), fmt),
            name="imagery-tile"),
]
