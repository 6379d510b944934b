"""Alembic migration environment of the decision store (run via ``service.store.upgrade``)."""
