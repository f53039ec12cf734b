"""Pages are adapters: one call into a service, then a template."""

from django.shortcuts import render

from layers.services import layer_summaries


def home(request):
    """Show what the service offers: its layers and where its pages and APIs are."""
    return render(request, "maps/home.html", {"layers": layer_summaries()})
