"""One page of a sync as the writer takes it (usecases/sync_writer.py): the answer's body as
parsed, its bytes as sent, and what the writer asks of it -- its records reduced to the
module's fields, their ids, a digest of the answer, and the text the database may reduce the
records from itself -- each worked out once, when first asked for."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any, overload

from plugboard.domain.datasources import KeptRecord, at_path, kept_records, record_ids, record_shape
from plugboard.domain.service.modules import ServiceModule

__all__ = ["Page"]

# A JSON escape of a character a field path may spell (letters, digits, "_", "-").
_ESCAPED_NAME_CHARACTER = re.compile(r"\\u00(?:3[0-9]|[46][1-9a-f]|[57][0-9a]|2d|5f)", re.I)


class Page(Sequence[KeptRecord]):
    """One page's answer, its records reduced to the module's fields only when first asked
    for: by the writer thread, off the path from one page's answer to the next page's request
    -- unless the pagination needs them sooner (a cursor taken from the last record's id).
    Its length is the answer's list's: the records keep every item (or refuse the page).
    ``raw`` is the answer's body as sent, for the database to reduce the records itself."""

    def __init__(
        self, module: ServiceModule, body: Any, number: int, raw: bytes | None = None
    ) -> None:
        self.module = module
        self.body = body
        self.number = number
        self.raw = raw

    @cached_property
    def records(self) -> list[KeptRecord]:
        return kept_records(self.module, self.body, self.number)

    @cached_property
    def digest(self) -> str | None:
        """The answer's bytes and the module's reduction (records path, id, fields) in one
        digest, or None when the bytes are not at hand."""
        if self.raw is None:
            return None
        module = self.module
        # SHA-256: a 9 KB page in 8 us on the development machine, BLAKE2b (used before) in
        # 21. A digest stored by an older version matches no page: that page is written again.
        digest = hashlib.sha256(repr((module.records, module.id_field, module.fields)).encode())
        digest.update(b"\0")
        digest.update(self.raw)
        return digest.hexdigest()

    @cached_property
    def ids(self) -> list[str]:
        """The records' ids, checked as :attr:`records` checks them, without reducing them."""
        if "records" in self.__dict__:  # reduced already (the cursor is the last id)
            return [record.record_id for record in self.records]
        return record_ids(self.module, self.body, self.number)

    @cached_property
    def text(self) -> str | None:
        """The body as the text the database splits, or None: the records are reduced in
        Python (the module's paths are beyond SQL, or the body is not plain UTF-8 -- which
        the JSON parser decoded otherwise, or not at all)."""
        if self.raw is None or record_shape(self.module) is None:
            return None
        try:
            text = self.raw.decode()
        except UnicodeDecodeError:
            return None
        if text.startswith("\ufeff") or _ESCAPED_NAME_CHARACTER.search(text):
            # SQLite follows a path to a key only as spelled: "n\u0061me" is not "name" to it.
            return None
        if text.count(self._id_key) != len(self.ids):
            # The id's key once per record, or Python must read it: an object with the key
            # twice is its first value to SQLite and its last to Python (and a nested object
            # with a key of that name only costs this page the Python path).
            return None
        return text

    @cached_property
    def _id_key(self) -> str:
        return json.dumps(self.module.id_field.rsplit(".", 1)[-1])

    def check(self) -> None:
        """Refuse the page as :attr:`records` would (ValidationError), reducing it only when
        the records are reduced in Python."""
        if self.text is not None:
            self.ids  # noqa: B018
        else:
            self.records  # noqa: B018

    def __len__(self) -> int:
        path = self.module.records
        found = self.body if path is None else at_path(self.body, path)
        return len(found) if isinstance(found, list) else len(self.records)

    @overload
    def __getitem__(self, index: int) -> KeptRecord: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[KeptRecord]: ...
    def __getitem__(self, index: int | slice) -> KeptRecord | Sequence[KeptRecord]:
        return self.records[index]
