"""The streaming service's warehouse connection, in a child process fed through a pipe.

The service decodes a checkpoint's messages while this process writes the previous part into
the checkpoint's open transaction, so the two use two cores. A writer thread instead made
both slower (they took turns on one interpreter lock: writes took twice as long). Spawned,
not forked: the service runs Kafka client threads, and a forked child can inherit their locks
held. If the service dies, the pipe closes, the child exits and the open transaction is rolled
back with its connection.
"""

from __future__ import annotations

import enum
import multiprocessing
import pickle
import signal
from collections.abc import Callable
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import Any

from ingest.warehouse.batch import Batch, BatchResult
from ingest.warehouse.landing import Landing, RawWriter
from ingest.warehouse.session import WarehouseUnavailable

Connect = Callable[[], RawWriter]  # must pickle: a module-level function or a partial of one


class _Command(enum.Enum):
    CONNECT = "connect"
    WRITE = "write"
    COMMIT = "commit"
    ABORT = "abort"
    STOP = "stop"


class _Writer:
    """The child's side: one warehouse connection and at most one open landing."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._warehouse: RawWriter | None = None
        self._landing: Landing | None = None

    def _open(self) -> RawWriter:
        if self._warehouse is None:
            self._warehouse = self._connect()
        return self._warehouse

    def connect(self) -> None:
        self._open()

    def write(self, part: Batch) -> None:
        if self._landing is None:
            self._landing = self._open().begin_landing()
        try:
            self._landing.write(part)
        except BaseException:
            self._landing = None  # rolled back by the failed write
            raise

    def commit(self, lag: int | None) -> BatchResult:
        landing, self._landing = self._landing, None
        if landing is None:
            raise RuntimeError("commit without a written part")
        return landing.commit(lag)

    def abort(self, close: bool) -> None:
        landing, self._landing = self._landing, None
        if landing is not None:
            try:
                landing.abort()
            except Exception:  # the connection is gone, and the transaction with it
                close = True
        if close and self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself when it survives the pipe, else its message (driver errors)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _serve(pipe: Connection, connect: Connect) -> None:
    # Ctrl-C or a SIGTERM to the process group is the service's to handle: it flushes the
    # current checkpoint through this process, then stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    writer = _Writer(connect)
    handlers: dict[_Command, Callable[[Any], Any]] = {
        _Command.CONNECT: lambda _: writer.connect(),
        _Command.WRITE: writer.write,
        _Command.COMMIT: writer.commit,
        _Command.ABORT: writer.abort,
    }
    try:
        while True:
            try:
                command, argument = pipe.recv()
            except EOFError:
                return  # the service is gone
            if command is _Command.STOP:
                return
            try:
                pipe.send(("ok", handlers[command](argument)))
            except Exception as exc:
                pipe.send(("error", _picklable(exc)))
    finally:
        writer.abort(close=True)


class WriterProcess:
    """The service's side: requests go out in order, replies come back in the same order, so
    parts can be sent ahead while earlier ones are still being written."""

    def __init__(self, connect: Connect) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_end, connect), name="warehouse-writer", daemon=True
        )
        self._process.start()
        child_end.close()
        self.pending = 0  # requests sent whose reply has not been read

    def connect(self) -> None:
        """Open the warehouse connection now (it is otherwise opened by the first write)."""
        self._call(_Command.CONNECT)

    def send_write(self, part: Batch) -> None:
        """Send a part to be written into the open transaction (begun by the first part);
        its result comes back through `reply()`, so parts can be sent ahead."""
        self._send(_Command.WRITE, part)

    def commit(self, lag: int | None) -> BatchResult:
        """Commit every part written (read their replies first), with the consumer lag."""
        return self._call(_Command.COMMIT, lag)

    def abort(self, close: bool) -> None:
        """Roll back the open transaction; `close` also closes the connection."""
        self._call(_Command.ABORT, close)

    def reply(self) -> Any:
        """The oldest pending request's result; raises what it raised."""
        self.pending -= 1
        try:
            status, value = self._pipe.recv()
        except (EOFError, ConnectionResetError) as exc:
            raise self._died() from exc
        if status == "error":
            raise value
        return value

    def _send(self, command: _Command, argument: Any = None) -> None:
        try:
            self._pipe.send((command, argument))
        except (BrokenPipeError, ConnectionResetError, EOFError) as exc:
            raise self._died() from exc
        self.pending += 1

    def _call(self, command: _Command, argument: Any = None) -> Any:
        self._send(command, argument)
        return self.reply()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def _died(self) -> WarehouseUnavailable:
        self.pending = 0
        self._process.join(timeout=5)
        return WarehouseUnavailable(
            f"the warehouse writer process exited (code {self._process.exitcode})"
        )

    def stop(self) -> None:
        if self._process.is_alive():
            with suppress(OSError):
                self._pipe.send((_Command.STOP, None))
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._pipe.close()
