"""pygeoapi's Django URLs, served through our adapter (imported with the URLconf, not at start-up)."""

import pygeoapi.django_.views as pygeoapi_views
from pygeoapi.django_.urls import urlpatterns

from api.ogc.adapter import execute_from_django

# pygeoapi's views look this name up at request time: serve them from our cached API objects.
pygeoapi_views.execute_from_django = execute_from_django

__all__ = ["urlpatterns"]
