"""Graceful stop on SIGINT / SIGTERM: nothing recorded is lost when a process is told to end.

``systemd``, Docker, Kubernetes and ``ros2 launch`` end a process with SIGTERM; a user with
Ctrl-C (SIGINT). Either way samstream stops the same way::

    from samstream.lifecycle import GracefulStop

    with GracefulStop() as stop:
        pipe = Pipeline(...)
        stop.add_callback(pipe.source.close)   # the first signal ends the stream cleanly
        for seg in pipe:                       # ... the loop simply ends
            ...
    sys.exit(stop.exit_code or 0)              # 130 after SIGINT, 143 after SIGTERM

* **First signal**: if callbacks were registered (:meth:`GracefulStop.add_callback`), they run in
  a helper thread (closing the source makes the pipeline's loop end after the frame in hand;
  the pipeline then closes its sinks: MCAP summary and footer, video trailer) and nothing is
  raised. With no callback, :class:`KeyboardInterrupt` is raised in the main thread, as the
  default SIGINT handler does (now also for SIGTERM), so ``try/finally`` cleanup runs.
* **Second signal**: immediate exit (``os._exit``) with the same code: a forced exit.
* **Watchdog**: ``force_after`` seconds after the first signal (default 10 s) a stop that hangs
  (a device that never returns from a read) is forced the same way, with a message.

Exit codes follow the shell convention ``128 + signal``: 130 (SIGINT), 143 (SIGTERM).
Handlers can only be installed from the main thread; elsewhere :class:`GracefulStop` is inert.
Only the standard library is imported here.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Callable, Optional

__all__ = ["GracefulStop", "current", "exit_code_for", "STOP_SIGNALS"]

#: the signals that ask for a clean stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_current: Optional["GracefulStop"] = None


def exit_code_for(signum: int) -> int:
    """The shell's exit code for a process ended by ``signum``: ``128 + signum`` (130, 143)."""
    return 128 + int(signum)


def current() -> Optional["GracefulStop"]:
    """The innermost active :class:`GracefulStop` (``None`` outside one)."""
    return _current


def _say(text: str) -> None:
    # os.write, not sys.stderr.write: a handler may interrupt a write in progress on the same
    # buffered stream, and a reentrant write raises RuntimeError
    try:
        os.write(2, text.encode("utf-8", "replace"))
    except OSError:
        pass


class GracefulStop:
    """Context manager that turns SIGINT/SIGTERM into a clean stop (see the module docstring).

    Args:
        force_after: seconds after the first signal before a hung stop is forced
            (``os._exit(exit_code)``); ``None``: never.
        quiet: no messages on stderr.

    Attributes:
        signum: the first signal received (``None`` if none); exit_code: ``128 + signum`` or ``None``;
        stopping: a :class:`threading.Event` set on the first signal (for loops to poll).
    """

    def __init__(self, force_after: Optional[float] = 10.0, quiet: bool = False) -> None:
        if force_after is not None and not force_after > 0:
            raise ValueError(f"force_after must be > 0 seconds or None, got {force_after!r}.")
        self.force_after = force_after
        self.quiet = bool(quiet)
        self.signum: Optional[int] = None
        self.stopping = threading.Event()
        self._callbacks: list[Callable[[], Any]] = []
        self._old: dict[int, Any] = {}
        self._timer: Optional[threading.Timer] = None
        self._outer: Optional[GracefulStop] = None
        self._installed = False
        self.callback_errors: list[str] = []

    @property
    def exit_code(self) -> Optional[int]:
        return None if self.signum is None else exit_code_for(self.signum)

    def add_callback(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` (in a helper thread) on the first signal instead of raising KeyboardInterrupt.

        If the signal already came, ``fn`` runs now.
        """
        if not callable(fn):
            raise ValueError(f"a stop callback must be callable, got {fn!r}.")
        self._callbacks.append(fn)
        if self.signum is not None:
            self._run_callbacks([fn])

    # -- context ----------------------------------------------------------------------------
    def __enter__(self) -> "GracefulStop":
        global _current
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
            self._installed = True
        self._outer, _current = _current, self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _current
        if self._timer is not None:
            self._timer.cancel()
        if self._installed:
            for s, h in self._old.items():
                signal.signal(s, h if h is not None else signal.SIG_DFL)
            self._installed = False
        _current = self._outer

    # -- the handler ------------------------------------------------------------------------
    def _handle(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.signum is not None:
            if not self.quiet:
                _say(f"\n{name} again: forcing exit (outputs may be incomplete)\n")
            os._exit(self.exit_code or exit_code_for(signum))
        self.signum = signum
        self.stopping.set()
        if not self.quiet:
            _say(f"\n{name}: stopping cleanly (finishing the outputs); send it again to force exit\n")
        if self.force_after is not None:
            self._timer = threading.Timer(self.force_after, self._force)
            self._timer.daemon = True
            self._timer.start()
        if self._callbacks:
            self._run_callbacks(list(self._callbacks))
        else:
            raise KeyboardInterrupt

    def _run_callbacks(self, fns: list) -> None:
        def run() -> None:
            for fn in fns:
                try:
                    fn()
                except Exception as exc:  # a failing callback must not keep the others from running
                    self.callback_errors.append(f"{type(exc).__name__}: {exc}")

        threading.Thread(target=run, name="samstream-stop", daemon=True).start()

    def _force(self) -> None:
        if not self.quiet:
            _say(f"\nstill stopping {self.force_after:g} s after the signal: forcing exit\n")
        os._exit(self.exit_code or 1)
