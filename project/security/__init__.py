"""The site's own security layer: the client's address, log-in limits, expiring API tokens.

Each protection, its setting and the test that proves it are listed in docs/security.md.
"""
