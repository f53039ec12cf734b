"""pygeoapi's HTML pages as our site serves them: no request leaves the site, scripts pass the CSP.

pygeoapi's templates load Leaflet, Bootstrap, marker clustering and Swagger UI from public CDNs,
which a government intranet cannot reach and our Content-Security-Policy refuses anyway. Those
we vendor are pointed at our static copies (scripts/vendor_assets.sh), pygeoapi's own assets at
the static files (settings.STATICFILES_DIRS); a CDN asset we do not
carry (coverage viewers, charts, ReDoc, AsyncAPI) is dropped rather than left to fail. Inline
scripts are pygeoapi's own template code (data is escaped by Jinja), so each gets the request's
nonce.
"""

from __future__ import annotations

import re

from django.templatetags.static import static

__all__ = ["localise"]

_LEAFLET = "maps/vendor/leaflet/"
_VENDORED = {
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.css": f"{_LEAFLET}leaflet.css",
    "https://unpkg.com/leaflet@1.3.1/dist/leaflet.js": f"{_LEAFLET}leaflet.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/leaflet.js": f"{_LEAFLET}leaflet.js",
    "https://unpkg.com/leaflet-draw@1.0.4/dist/leaflet.draw.css": "maps/vendor/leaflet-draw/leaflet.draw.css",
    "https://unpkg.com/leaflet-draw@1.0.4/dist/leaflet.draw.js": "maps/vendor/leaflet-draw/leaflet.draw.js",
    "https://unpkg.com/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js":
        "maps/vendor/leaflet-vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "https://unpkg.com/bootstrap@5.1.3/dist/css/bootstrap.min.css": "vendor/bootstrap/bootstrap.min.css",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.css":
        "vendor/leaflet.markercluster/MarkerCluster.css",
    "https://unpkg.com/leaflet.markercluster/dist/MarkerCluster.Default.css":
        "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "https://unpkg.com/leaflet.markercluster/dist/leaflet.markercluster-src.js":
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
    **{f"https://unpkg.com/swagger-ui-dist/{name}": f"vendor/swagger-ui/{name}"
       for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png")},
}
_CDN = r"https://(?:unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com)/[^\"']*"
_ASSET = re.compile(rf"[\"']({_CDN})[\"']")
# What is left of a CDN asset after the swap: a <script src=…></script> or a <link href=…>.
_LEFT_OVER = re.compile(rf"<script\b[^>]*\bsrc=[\"']{_CDN}[\"'][^>]*>\s*</script>"
                        rf"|<link\b[^>]*\bhref=[\"']{_CDN}[\"'][^>]*>")
_SCRIPT = re.compile(r"<script\b(?![^>]*\bnonce=)")
# pygeoapi's own assets, which its templates address under the API's URL (…/ogc/static/…).
_OWN = re.compile(r"([\"'])(?:https?://[^/\"']+)?/ogc/static/")


def localise(html: str, nonce: str) -> str:
    """Point a pygeoapi page's CDN assets at our copies, drop the others, and add `nonce` to its
    scripts."""
    html = _ASSET.sub(lambda m: f'"{static(_VENDORED[m[1]])}"' if m[1] in _VENDORED else m[0], html)
    html = _LEFT_OVER.sub("", html)
    html = _OWN.sub(lambda m: m[1] + static("pygeoapi/"), html)
    return _SCRIPT.sub(f'<script nonce="{nonce}"', html)
