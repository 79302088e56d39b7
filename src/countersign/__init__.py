"""Countersign's domain core: policy, routing rules, data model. No Temporal
client and no HTTP here; `workflows` and `api` build on this package."""
