"""`gather-sync explain`: why one record is, or is not, in Gather.

`rules` replays the tenant's rules on the record's state step by step with the worker's own rule
functions (`streams.rules`), `compare` sets the upsert they give beside the store's rows and
names the likely cause of a difference. Both are pure; `cli.explain` reads the inputs (the
worker's changelogs, `sf.schemas`, the store, the DLQs, the groups' lag) and prints the result.
"""
