"""The engine's version, reported in every decision (replay compares it)."""

ENGINE_VERSION = "0.1.0"
