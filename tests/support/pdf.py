"""A render cache for WeasyPrint in the test process: the same HTML (with the same base URL,
fetcher and options) gives the same PDF bytes, so it is rendered once per test process.

Rendering a letter takes one to three seconds and most of the suite's sending, letter and
document tests render documents another test already rendered from exactly the same HTML (on
SQLite every test starts from the same rows, so references, names and dates repeat). The app
still builds every document as it does in production, through ``panel.core.pdf.html_to_pdf``
and ``weasyprint.HTML``; only WeasyPrint's layout of a byte-identical document is reused
(WeasyPrint is deterministic: the bytes are the same either way, which
``tests/core/test_pdf_cache.py`` checks).

WeasyPrint is never imported from here (importing it changes Pillow's settings, see
``tests/imaging/test_uploads.py``): the cache is put in front of ``weasyprint.HTML`` once the
app has imported it. ``PANEL_TEST_PDF_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections import OrderedDict

ENABLED = os.environ.get("PANEL_TEST_PDF_CACHE", "1") != "0"
MAX_ENTRIES = 256

_cache: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0}


def _key(string: str, args: tuple, kwargs: dict, write_args: tuple, write_kwargs: dict) -> str:
    fetcher = kwargs.get("url_fetcher")
    parts = [
        string,
        repr(args),
        repr(sorted((k, v) for k, v in kwargs.items() if k != "url_fetcher")),
        # The app's fetcher is a fresh instance each time; its class and the base URL say
        # what it may read.
        f"{type(fetcher).__module__}.{type(fetcher).__qualname__}" if fetcher else "",
        repr(write_args),
        repr(sorted(write_kwargs.items())),
    ]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def cached_html_class(real):
    """A stand-in for ``weasyprint.HTML``: ``HTML(string=...).write_pdf()`` answers from the
    cache; anything else (files, URLs, other methods) goes to the real class."""

    class CachedHTML:
        _panel_real = real

        def __init__(self, *args, **kwargs) -> None:
            self._args, self._kwargs = args, kwargs
            self._real = None

        def _inner(self):
            if self._real is None:
                self._real = real(*self._args, **self._kwargs)
            return self._real

        def write_pdf(self, *args, **kwargs):
            string = self._kwargs.get("string")
            target = args[0] if args else kwargs.get("target")
            if not isinstance(string, str) or self._args or target is not None:
                return self._inner().write_pdf(*args, **kwargs)  # a file, a URL, a target
            key = _key(string, self._args, self._kwargs, args, kwargs)
            with _lock:
                if key in _cache:
                    _cache.move_to_end(key)
                    stats["hits"] += 1
                    return _cache[key]
            out = self._inner().write_pdf(*args, **kwargs)
            if isinstance(out, bytes):
                with _lock:
                    stats["misses"] += 1
                    _cache[key] = out
                    while len(_cache) > MAX_ENTRIES:
                        _cache.popitem(last=False)
            return out

        def __getattr__(self, name):
            return getattr(self._inner(), name)

    return CachedHTML


def install() -> None:
    """Put the cache in front of ``weasyprint.HTML`` if the app has imported WeasyPrint (and
    the cache is on); cheap to call before every test."""
    module = sys.modules.get("weasyprint")
    if not ENABLED or module is None:
        return
    current = getattr(module, "HTML", None)
    if current is None or hasattr(current, "_panel_real"):
        return
    module.HTML = cached_html_class(current)
