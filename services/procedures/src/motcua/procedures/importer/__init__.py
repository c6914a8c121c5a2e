"""Imports procedures from the national procedures database's JSON into the catalog, over gRPC.

``python -m motcua.procedures.importer FILE`` (or ``motcua-import-procedures FILE``). Each
record is compared with the latest version of the procedure with its code: a new code is
created and published; a changed record becomes the next version (drafted, updated,
published: it supersedes the version in force); an identical one changes nothing, so
importing the same file twice changes nothing. A record that is invalid is reported with
its fields and skipped; the others are imported. ``--dry-run`` reports what would happen.
"""
