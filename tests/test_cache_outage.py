"""Redis down: the cache degrades to "nothing cached", pages are computed, nothing fails."""

import logging
import socket

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.demo.services import seed_demo
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    """The configured Redis cache, pointed at a port where no Redis answers."""
    configured = settings.CACHES["default"]
    assert "redis" in configured["BACKEND"].lower()
    settings.CACHES = {
        "default": {**configured, "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}
    }


def test_the_dashboard_is_computed_when_redis_is_down(client, redis_down, caplog):
    seed_demo(products=12, rounds=2, seed=3)
    client.force_login(UserFactory(username="v"))
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        page = client.get(reverse("dashboard"))
    assert page.status_code == 200 and b'id="chart-overall"' in page.content
    assert "Cache unavailable (get skipped" in caplog.text


def test_a_failed_redis_is_left_alone_for_a_while(redis_down, caplog):
    import time

    with caplog.at_level(logging.WARNING, logger="config.cache"):
        started = time.monotonic()
        for _ in range(20):
            assert cache.get("k", "fallback") == "fallback"
        elapsed = time.monotonic() - started
    assert caplog.text.count("Cache unavailable") == 1  # one try, then the pause
    assert elapsed < 2


def test_every_cache_operation_degrades(redis_down):
    assert cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is None and cache.add("k", 1) is False
    assert cache.get_many(["k"]) == {} and cache.has_key("k") is False
    assert cache.delete("k") is False
    with pytest.raises(ValueError):
        cache.incr("k")
