"""The engine's version, reported in every decision (replay compares it)."""

# 0.2.0: the trace's messages are worded for an applicant (codes named, no field names in
# Chinese sentences); decisions are unchanged, and a replay of an older one says so.
ENGINE_VERSION = "0.2.0"
