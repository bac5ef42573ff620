"""Background work (SPEC §12): job functions that call usecases, and the two runners.

- :mod:`plugboard.jobs.tasks`: the tasks -- one function each, taking a :class:`JobContext` --
  and the registry both runners read. A new kind of background work (webhook deliveries,
  datasource syncs) is a function plus one :func:`~plugboard.jobs.tasks.register` call.
- :mod:`plugboard.jobs.inprocess`: the embedded runner (SQLite, inside ``plugboard serve`` or a
  standalone ``plugboard worker``), whose queue is the ``job_runs`` table: a claim with a lease,
  so a job whose process died (``kill -9``) runs again once the lease lapses.
- :mod:`plugboard.jobs.pg`: the same tasks on procrastinate (PostgreSQL), in any number of
  ``plugboard worker`` processes; periodic tasks are deferred once per period across all of them,
  and a stalled job (its worker stopped sending heartbeats) is retried.
- :mod:`plugboard.jobs.admin`: ``plugboard jobs list`` and ``retry`` over either queue.

Every task is idempotent: it may run again after a crash, and twice in a row is harmless.
"""
