"""Caseload evaluation (年度复核) and what-if simulation of a rule change.

A caseload is a file of households (JSONL of contract requests, or Parquet/CSV in the flat
column layout of ``layout.py``). ``run.evaluate_caseload`` evaluates every household under one
bundle and writes one result row per household; ``run.whatif`` evaluates it under a baseline and
a changed bundle and reports who gains and loses each program and what it costs.

Households are evaluated by a vectorised path (``vector.py``: the batch form of each program,
written at the end of its module in ``service.engine.programs``, run in the engine's order) that
gives exactly the statuses, bases and amounts of the per-household engine
(``service.engine.evaluate``); rows it cannot take (a parameter that is not a whole number of fen,
a household without counted members, amounts beyond its integer range) go through the engine
itself.
"""
