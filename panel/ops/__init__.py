"""Operations tooling: backup and restore (``flask --app panel backup DIR`` / ``restore DIR``).

The logic lives in :mod:`panel.ops.backup`; the click commands in :mod:`panel.ops.cli`.
"""
