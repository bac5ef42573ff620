"""The digests of the pages whose records a datasource's last completed sync left stored as
those pages say (see usecases/sync_writer.py for when a page counts)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection as DbConnection
from sqlalchemy import delete, insert, select

from plugboard.store.tables import datasource_pages as pages

__all__ = ["PageDigestRepository"]


class PageDigestRepository:
    def __init__(self, conn: DbConnection) -> None:
        self._conn = conn

    def known(self, datasource_id: str) -> set[str]:
        rows = self._conn.execute(
            select(pages.c.digest).where(pages.c.datasource_id == datasource_id)
        )
        return {digest for (digest,) in rows}

    def replace(
        self, datasource_id: str, digests: Collection[str], known: Collection[str] | None = None
    ) -> None:
        """The datasource's digests become exactly ``digests``; ``known`` (what :meth:`known`
        returned since, when the caller holds the datasource's only writer) spares the
        statements of what stays."""
        if known is None:
            self.forget(datasource_id)
            known = ()
        gone = [d for d in known if d not in digests]
        new = [d for d in digests if d not in known]
        if gone:
            self._conn.execute(
                delete(pages).where(
                    pages.c.datasource_id == datasource_id, pages.c.digest.in_(gone)
                )
            )
        if new:
            self._conn.execute(
                insert(pages), [{"datasource_id": datasource_id, "digest": d} for d in new]
            )

    def forget(self, datasource_id: str) -> None:
        self._conn.execute(delete(pages).where(pages.c.datasource_id == datasource_id))
