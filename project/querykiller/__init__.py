"""The query killer (the talk's "sniper"): every 10 s, stop statements over 30 s and tell the admins.

- ``killer``: finds and cancels (then terminates) long statements on the primary and each replica;
- ``tasks``: the Celery task beat runs; ``models``: ``KilledQuery``, the audit trail; ``admin``: its
  read-only changelist; ``management/commands/querykiller.py``: one run from the shell or cron.

A Django app of its own (label ``querykiller``) so it can hold a model, an admin and a command.
"""
