"""The five programs, one module each: the facts a program reads, its steps in order, its
decision for one household with the trace (``decide``), and, in the section "batch form" at the
end of the module, the same decision for a whole batch of households at once (``decide_batch``,
numpy, no trace: the caseload path's form) with the compiled rules it reads (``BATCH_RULES``).
What the batch forms share is ``arrays``.

The order in which they are decided is stated once, in ``service.engine.evaluate.decide``
(rules-reference §10), and ``service.caseload.vector`` follows it (each batch form takes what the
earlier ones decided); the order in which a response lists them is the contract's
(``PROGRAM_IDS``).
"""
