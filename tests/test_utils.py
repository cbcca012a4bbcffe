"""samstream.utils: rate meter, memory and descriptor readings, natural sort."""

import time

from samstream.utils import RateMeter, natural_key, open_fds, rss_mb


def test_rate_meter_measures_and_goes_stale():
    r = RateMeter(n=10, stale_after=0.2)
    assert r.value() == 0.0
    for _ in range(5):
        r.tick()
        time.sleep(0.01)
    assert 20 < r.value() < 200
    time.sleep(0.3)
    assert r.value() == 0.0
    assert RateMeter(n=10).value() == 0.0


def test_natural_key_orders_numbers_by_value():
    names = ["frame10.png", "Frame2.png", "frame1.png"]
    assert sorted(names, key=natural_key) == ["frame1.png", "Frame2.png", "frame10.png"]


def test_process_readings_are_plausible():
    assert 5 < rss_mb() < 24 * 1024
    assert open_fds() >= 3
