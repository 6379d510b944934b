"""The web console at ``/console/``: intake (一门受理), audit and rules pages for people, served by
the same service and deciding through the same actions as the API (:mod:`service.api.actions`).

Server-rendered pages (Jinja2 templates in ``templates/``), one style sheet and one small script
(``static/``), no other host asked for anything. Sign-in exchanges an API key for a session
cookie (:mod:`service.store.sessions`); the key's role opens exactly what it opens on the API.
The element ids the browser tests rely on are listed in ``README.md`` beside this file.
"""

from fastapi import APIRouter

from service.console.routes import assets, audit, auth, intake, rules

router = APIRouter()
# assets last: it ends with the page of an unknown console address
for _part in (auth.router, intake.router, audit.router, rules.router, assets.router):
    router.include_router(_part)

__all__ = ["router"]
