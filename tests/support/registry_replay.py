"""ClinicalTrials.gov and ISRCTN played by a real HTTP server on 127.0.0.1 serving recorded
responses (``tests/trials/data/registry``: written in the APIs' formats for the tests, not the
trials' real records); Panel's own client talks to it unmocked. Used by the sync tests and the
``trials.sync`` job's tests, so no test reaches the internet."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REGISTRY = Path(__file__).resolve().parents[1] / "trials" / "data" / "registry"
CTGOV = "/ctgov/api/v2"
ISRCTN = "/isrctn/api"


class Registry:
    """The routes the fake registries answer: path -> (status, content type, body, delay)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, float]] = {}
        self.hits: list[str] = []

    def study(self, nct: str, recording: str) -> None:
        body = (REGISTRY / recording).read_bytes()
        self.routes[f"{CTGOV}/studies/{nct}"] = (200, "application/json", body, 0.0)

    def isrctn(self, ident: str, recording: str) -> None:
        body = (REGISTRY / recording).read_bytes()
        self.routes[f"{ISRCTN}/trial/{ident}/format/default"] = (200, "text/xml", body, 0.0)


def _handler(registry: Registry):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            path = self.path.split("?", 1)[0]
            registry.hits.append(path)
            status, ctype, body, delay = registry.routes.get(
                path, (404, "application/json", b'{"message": "not found"}', 0.0)
            )
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def serving(app, monkeypatch) -> Iterator[Registry]:
    """A local server standing in for both registries; the app's settings point at it."""
    registry = Registry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setitem(app.config, "CTGOV_API_URL", base + CTGOV)
    monkeypatch.setitem(app.config, "ISRCTN_API_URL", base + ISRCTN)
    monkeypatch.setitem(app.config, "TRIAL_SYNC_TIMEOUT", 2.0)
    monkeypatch.setitem(app.config, "TRIAL_SYNC_RETRIES", 1)
    monkeypatch.setitem(app.config, "TRIAL_SYNC_RETRY_WAIT", 0.0)
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
