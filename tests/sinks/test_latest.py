"""The viewer sinks' never-block contract: a slow consumer drops results, never stalls the writer."""

from __future__ import annotations

import threading

from samstream.sinks.latest import LatestWorker


def test_a_stalled_consumer_never_blocks_put_and_drops_are_counted():
    gate = threading.Event()
    seen = []

    def slow(i):
        gate.wait(10)  # a viewer that hangs until released
        seen.append(i)

    w = LatestWorker(slow)
    for i in range(200):  # would take 200 x 10 s if put waited
        w.put(i)
    assert w.dropped >= 198  # everything between the first (in progress) and the newest
    gate.set()
    w.close()
    assert seen[-1] == 199 and len(seen) == 200 - w.dropped


def test_errors_are_counted_and_the_worker_goes_on():
    calls = []

    def flaky(i):
        calls.append(i)
        if i == 0:
            raise ValueError("bad frame")

    w = LatestWorker(flaky, threaded=False)
    w.put(0)
    w.put(1)
    assert (w.errors, w.done, calls) == (1, 1, [0, 1]) and "bad frame" in w.last_error
