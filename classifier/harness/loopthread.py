"""An asyncio event loop in a daemon thread, so blocking code and other processes can use servers.

Servers started on the loop of a blocking caller would deadlock it (a blocking client on the
loop thread never lets the server answer); running them here avoids that.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """Own a fresh event loop running in a background thread until :meth:`close`."""

    def __init__(self, name: str = "smtp-classifier-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @classmethod
    def start(
        cls, opener: Callable[[], Coroutine[Any, Any, T]], timeout: float, name: str
    ) -> tuple[LoopThread, T]:
        """A new loop thread and the result of ``opener()`` run on it; closed again on failure."""
        thread = cls(name)
        try:
            return thread, thread.run(opener(), timeout)
        except BaseException:
            thread.close()
            raise

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait at most ``timeout`` seconds for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what is left on the loop, stop it and join the thread (bounded)."""
        if self.loop.is_closed():
            return

        async def _cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)

        if self._thread.is_alive():
            with contextlib.suppress(TimeoutError):
                self.run(_cancel_rest(), timeout + 1.0)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()
