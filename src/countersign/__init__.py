"""Countersign's core, with no Temporal client and no HTTP: `domain` holds the
pure rules (policy, routing, calendar, access, notifications), `storage` the
tables, queries and append-only records; `workflows` and `api` build on it."""
