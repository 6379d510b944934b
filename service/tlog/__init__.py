"""The transparency log: an RFC 9162 Merkle tree over the decision records, signed checkpoints
(the signed-note format of Go's checksum database and Sigstore) and the offline audit of an
exported log. Pure functions over bytes: no database, no HTTP; the store feeds them.
"""
