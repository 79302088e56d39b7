"""The domain core: pure rules, no database, no Temporal client, no HTTP."""
