"""Typed results: the coverage definitions, coverage/planning/supply/matching reports, their flat rows
and the plan plot.
"""
