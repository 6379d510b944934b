"""The HTTP service: FastAPI app, API keys and roles, pseudonymisation, logs and metrics.

Imports go one way: this package uses ``service.engine`` and ``service.store``; neither of them
imports it. ``create_app(settings)`` builds the application; ``eligibility serve`` runs it.
"""

from service.api.settings import Settings


def create_app(settings: Settings | None = None, **kwargs):  # type: ignore[no-untyped-def]
    from service.api.app import create_app as _create_app

    return _create_app(settings, **kwargs)


__all__ = ["Settings", "create_app"]
