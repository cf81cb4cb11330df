"""Accounts: the custom User model, its admin, and the sign-up, log-in and log-out pages."""
