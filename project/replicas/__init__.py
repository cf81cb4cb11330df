"""Read replicas behind a router: reads go to a caught-up replica when safe, the rest to the primary.

- ``router``: ``PrimaryReplicaRouter``, read scopes, ``primary_db()`` and ``replica_alias()``;
- ``lag``: the one replay-lag measurement, shared by the router and ``/readyz``;
- ``middleware``: one read scope per request, and the signed cookie that pins a writer's reads;
- ``tasks``: the Celery task base that gives each task its own read scope.
"""
