"""The HTTP API: API keys and roles, routes and their actions, pseudonymisation, logs and
metrics.

Imports go one way: this package uses ``service.engine`` and ``service.store``; neither of them
imports it. :func:`service.app.create_app` puts it together with the console and the caseload's
router; ``eligibility serve`` runs that.
"""

from service.api.settings import Settings

__all__ = ["Settings"]
