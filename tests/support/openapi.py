"""What an OpenAPI document describes against what the app serves (both API versions)."""

from __future__ import annotations

import re


def documented_and_served(app, doc, prefix: str) -> tuple[set, set]:
    """(path, METHOD) pairs the OpenAPI ``doc`` documents, and those the app serves under
    ``prefix`` (Flask's ``<int:x>`` written ``{x}``)."""
    documented = {
        (path, method.upper())
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(prefix)), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(f"{prefix}/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    return documented, served
