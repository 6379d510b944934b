"""The five programs, one module each: the facts a program reads, its steps in order, and its
decision for one household with the trace (``decide``).

The order in which they are decided is stated once, in ``service.engine.evaluate.decide``
(rules-reference §10); the order in which a response lists them is the contract's
(``PROGRAM_IDS``).
"""
