"""Measure how far a streaming replica's replay is behind its primary: the one lag function.

The router (``project.replicas.router``) uses it to decide whether a replica may serve reads, and
``/readyz`` (``project.monitoring.probes``) to report each replica; both read the same figure.

An idle primary writes no WAL, so ``now() - pg_last_xact_replay_timestamp()`` grows without any lag,
and it also counts the whole age of a long transaction still being written on the primary. A
replica is caught up when its WAL receiver streams and it has replayed all it received: either the
LSNs are equal, or the startup process sits waiting for more WAL (``RecoveryWalStream``). LSN
equality alone is not enough: the receive position often stops at a WAL page boundary a few bytes
past the last record. When the replica is busy replaying, it is watched briefly: once it has
replayed everything it had received at the first sample, nothing older than that is missing, so the
lag is at most the time watched. Paused replay, or a backlog that outlasts the watch, gives the age
of the last replayed commit: an upper bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

# One sample of the server's replay state.
REPLAY_STATE_SQL = """
SELECT
    pg_is_in_recovery(),
    (SELECT status FROM pg_stat_wal_receiver),
    pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
        OR EXISTS (SELECT 1 FROM pg_stat_activity
                   WHERE backend_type = 'startup' AND wait_event = 'RecoveryWalStream'),
    pg_is_in_recovery() AND pg_is_wal_replay_paused(),
    pg_last_wal_receive_lsn()::text,
    EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
"""
# Has everything received at the first sample been replayed since?
REPLAYED_SQL = "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn"
# While the replica is busy replaying, how often and how long to watch it catch up.
CATCH_UP_POLL_SECONDS = 0.01
CATCH_UP_POLLS = 10


class Cursor(Protocol):
    """The part of a DB-API cursor the measurement needs (Django's and psycopg's both fit)."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def fetchone(self) -> Any: ...


@dataclass(frozen=True)
class ReplayState:
    """What one measurement found on the server behind a replica alias."""

    standby: bool
    """The server is in recovery (a standby). A primary has no lag: ``lag_seconds`` is 0."""
    receiver_status: str | None
    """``pg_stat_wal_receiver.status``: ``"streaming"`` on a healthy standby, ``None`` when stopped."""
    lag_seconds: float
    """Seconds of replay behind the primary: 0 when caught up, ``math.inf`` when it cannot tell."""

    @property
    def streaming(self) -> bool:
        return self.receiver_status == "streaming"


def measure_replay_lag(cursor: Cursor) -> ReplayState:
    """Measure the replay lag of the server ``cursor`` is connected to (watching it for up to 0.1 s)."""
    started = time.monotonic()
    cursor.execute(REPLAY_STATE_SQL)
    standby, receiver_status, replayed_all, paused, received, replay_age = cursor.fetchone()
    if not standby:
        return ReplayState(standby=False, receiver_status=receiver_status, lag_seconds=0.0)
    if receiver_status == "streaming" and replayed_all:
        return ReplayState(standby=True, receiver_status=receiver_status, lag_seconds=0.0)
    if not paused and received is not None:
        for _ in range(CATCH_UP_POLLS):
            time.sleep(CATCH_UP_POLL_SECONDS)
            cursor.execute(REPLAYED_SQL, [received])
            if cursor.fetchone()[0]:
                return ReplayState(
                    standby=True, receiver_status=receiver_status, lag_seconds=time.monotonic() - started
                )
    lag = math.inf if replay_age is None else max(0.0, float(replay_age))
    return ReplayState(standby=True, receiver_status=receiver_status, lag_seconds=lag)
