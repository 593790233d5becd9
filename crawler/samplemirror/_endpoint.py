"""What every local service of the sample mirror tells about where it listens."""

from __future__ import annotations

from types import TracebackType
from typing import ClassVar, Self


class Endpoint:
    """``address``, ``port`` and ``url`` of a listening socket (``_bound_address`` gives it),
    and ``with service:`` around ``start()`` / ``stop()``."""

    scheme: ClassVar[str] = "http"

    def _bound_address(self) -> tuple[str, int]:
        raise NotImplementedError

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the service listens on."""
        host, port = self._bound_address()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        """The port the service listens on."""
        return self.address[1]

    @property
    def url(self) -> str:
        """``scheme://host:port`` for clients."""
        host, port = self.address
        return f"{self.scheme}://{host}:{port}"
