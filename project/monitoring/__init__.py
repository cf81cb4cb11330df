"""Monitor percentiles, not averages: request and task timings, Prometheus, probes, the Performance page.

- ``middleware``: per-request timing and SQL counts by route, slow-request logs;
- ``task_signals``: the same for Celery tasks;
- ``metrics``: the Prometheus instruments; ``prometheus``: the ``/metrics`` view that merges them;
- ``performance``: per-minute histograms kept in the cache; ``views``: the admin's Performance page;
- ``probes``: ``/healthz`` and ``/readyz``; ``logs``: the JSON log formatter.
"""
