"""Fuzzing harnesses (see fuzz/run.py and docs/operations.md)."""
