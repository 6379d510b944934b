"""The HTTP routes, one module per resource; each module's ``router`` is included by
:func:`service.app.create_app` in the order of :data:`ROUTERS`."""

from fastapi import APIRouter

from service.api.routes import admin, audit, decisions, evaluate, health, rulesets

ROUTERS: tuple[APIRouter, ...] = (
    decisions.router,
    evaluate.router,
    audit.router,
    rulesets.router,
    admin.router,
    health.router,
)
