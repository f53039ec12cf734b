"""Pages are adapters: one call into a service, then a template."""

from django.shortcuts import render

from blueprint import access
from layers.services import layer_summaries


def home(request):
    """Show what the service offers: the layers the caller may read and where the pages and APIs are."""
    layers = [layer for layer in layer_summaries() if access.can_read_layer(request, layer)]
    return render(request, "maps/home.html", {"layers": layers, "who": access.principal(request)})
