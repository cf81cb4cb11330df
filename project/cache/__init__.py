"""The background-filled cache: an always-there value with its timestamp, refreshed by Celery.

- ``background``: ``@background_cached``, the envelope, the refresh lock, fail-fast enqueueing;
- ``tasks``: ``refresh_background_cache``, the worker's side;
- ``backends``: ``FailSoftRedisCache``, Django's Redis cache that treats an outage as a miss.
"""
