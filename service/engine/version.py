"""The engine's version, reported in every decision (replay compares it)."""

# 0.2.0: the trace's messages are worded for an applicant (codes named, no field names in
# Chinese sentences); decisions are unchanged, and a replay of an older one says so.
# 0.3.0: a member included as a single-person household (单人户) receives the 分类施保
# supplement (a changed amount); a step is marked provisional exactly when it read a
# provisional parameter (the marks changed where the old hand-written lists had drifted).
ENGINE_VERSION = "0.3.0"
