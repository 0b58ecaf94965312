"""JSON API v1 (personal API tokens)."""
