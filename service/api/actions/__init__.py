"""What the endpoints do, apart from HTTP: plain functions of the runtime, the principal and
plain arguments, so that the routes, the fast path and any other front end (a web console) run
the same code. They refuse with :class:`~service.contract.errors.Refusal`."""
