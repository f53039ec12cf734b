"""HTML → PDF with WeasyPrint, offline: the one renderer of the check and quality reports."""

from __future__ import annotations

__all__ = ["html_to_pdf"]


def html_to_pdf(page: str) -> bytes:
    """Render a self-contained HTML page as PDF; nothing is fetched over the network."""
    from weasyprint import HTML  # heavy import (pango, fonts): load it only when a PDF is asked for
    from weasyprint.urls import URLFetcher

    # Refusing http(s) and file URLs means a value in the page can never make the renderer reach out.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    return HTML(string=page, url_fetcher=fetcher, base_url=None).write_pdf()
