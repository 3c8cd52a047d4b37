"""sfsim: a local Salesforce org served over HTTPS for development, demos and tests.

The real clients (simple-salesforce, aiosfstream-ng) talk to it unchanged but for the URL (the
login `domain`) and the CA they trust. See README ("sfsim") and docs/salesforce-formats.md.
"""
