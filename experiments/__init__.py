"""Experiments built on the public ``sim`` API: reports that run many simulations and compare them.

``python -m experiments.scenarios`` compares every named scenario with the baseline (paired seeds) and
writes docs/SCENARIOS.md.
"""
