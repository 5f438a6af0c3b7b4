"""Small stream adaptors shared by the scanner and the collectors."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from .errors import CollectorError

__all__ = ["ChunkReader", "short_error"]


class ChunkReader(io.RawIOBase):
    """A read-only raw stream over an iterator of byte chunks (an HTTP response body,
    journal entries, transcoded JSON lines).

    Holds at most one chunk. Errors of the underlying transport are raised as
    :class:`CollectorError` naming ``source``; ``close()`` runs ``on_close`` (closing the
    HTTP response) exactly once.
    """

    def __init__(self, chunks: Iterable[bytes], source: str,
                 on_close: Callable[[], object] | None = None) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._buf = memoryview(b"")
        self._source = source
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return 0
            except CollectorError:
                raise
            except Exception as exc:  # requests/urllib3/socket/tarfile errors mid-stream
                raise CollectorError(self._source, f"stream broken while reading: {short_error(exc)}") from exc
            self._buf = memoryview(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            on_close, self._on_close = self._on_close, None
            self._buf = memoryview(b"")
            try:
                if on_close is not None:
                    on_close()
            except Exception:  # closing a dead connection must not mask the real error
                pass
        super().close()


def short_error(exc: BaseException) -> str:
    """A one-line description of ``exc`` (the SDK's messages embed whole HTTP reprs)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."
