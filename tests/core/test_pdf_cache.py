"""The suite's WeasyPrint render cache (tests/support/pdf.py) gives the bytes WeasyPrint gives."""

from __future__ import annotations

import uuid

from tests.support import pdf


def test_a_cached_render_is_the_real_render(app):
    """Rendering one document twice through the cache gives exactly the bytes of an uncached
    render; a different document is rendered, not answered from the cache."""
    import weasyprint

    from panel.core.pdf import html_to_pdf, static_only_fetcher, static_root

    pdf.install()
    assert hasattr(weasyprint.HTML, "_panel_real") == pdf.ENABLED
    real = getattr(weasyprint.HTML, "_panel_real", weasyprint.HTML)
    nonce = uuid.uuid4().hex  # a document no earlier test rendered
    html = f"<html><body><h1>Panel letter {nonce}</h1><p>Cached render check.</p></body></html>"
    with app.app_context():
        hits = pdf.stats["hits"]
        first, second = html_to_pdf(html), html_to_pdf(html)
        other = html_to_pdf(html.replace("Cached", "Another"))
        root = static_root()
        uncached = real(
            string=html, base_url=root.as_uri() + "/", url_fetcher=static_only_fetcher(root)
        ).write_pdf()
    assert first == second == uncached
    assert other != first
    if pdf.ENABLED:
        assert pdf.stats["hits"] == hits + 1
