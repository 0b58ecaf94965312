"""The multi-section referral form (new case, edit draft)."""

from panel.cases import bp  # noqa: F401
