"""HTML to PDF (WeasyPrint) for every document Panel prints: letters, the second-opinion
case summary, the agenda. One fetcher for all of them: a PDF never makes WeasyPrint reach
the network or any file outside the static folder."""

from __future__ import annotations

from pathlib import Path

from flask import current_app


def static_root() -> Path:
    return Path(current_app.static_folder).resolve()


def static_only_fetcher(root: Path):
    """A URL fetcher that reads only files under ``root`` (the static folder)."""
    from weasyprint.urls import URLFetcher

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            from urllib.parse import unquote, urlsplit

            parts = urlsplit(url)
            if parts.scheme != "file":
                raise ValueError(f"PDFs load local files only: {url}")
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(root):
                raise ValueError(f"PDFs load static files only: {url}")
            return super().fetch(url, headers)

    return StaticOnly()


def html_to_pdf(html: str) -> bytes:
    """``html`` as PDF bytes; relative URLs resolve against the static folder, and only files
    there are read."""
    from weasyprint import HTML

    root = static_root()
    return HTML(
        string=html, base_url=root.as_uri() + "/", url_fetcher=static_only_fetcher(root)
    ).write_pdf()
