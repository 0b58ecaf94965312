"""Case pages."""

from panel.cases import bp  # noqa: F401
