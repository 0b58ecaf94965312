"""The ``panel-case/1`` case format: its fields and value sets (:mod:`.fields`) and the
validator generated from them (:mod:`.schema`).

A pure package: plain Python and data, no Flask, no database, and it imports nothing else
from Panel. Cases, trials, the API and the referral form depend on it.
"""
