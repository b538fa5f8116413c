"""The Redis cache (rivergen/cache.py): one redis-py client per pool, reused on every call."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis

from rivergen.cache import RedisCache
from tests.conftest import TEST_REDIS_URL

BASE_DIR = Path(__file__).resolve().parents[1]


def store(prefix: str) -> RedisCache:
    return RedisCache(TEST_REDIS_URL, {"KEY_PREFIX": prefix})


def client_of(cache: RedisCache) -> Any:
    """The cache's RedisCacheClient (Django keeps it private)."""
    return cache._cache  # type: ignore[attr-defined]


def test_every_call_reuses_one_client(redis_prefix: str, monkeypatch: Any) -> None:
    cache = store(redis_prefix)
    built: list[Any] = []
    client_class = client_of(cache)._client

    def counting_client(**kwargs: Any) -> Any:
        built.append(kwargs)
        return client_class(**kwargs)

    monkeypatch.setattr(client_of(cache), "_client", counting_client)
    for value in range(5):
        cache.set("count", (str(value), value))
        assert cache.get("count") == (str(value), value)
    assert cache.add("flag", 1) is True
    assert cache.incr("flag") == 2
    cache.delete("count")

    assert cache.get("count") is None
    assert len(built) == 1


def test_a_kept_client_carries_on_after_redis_drops_its_connection(redis_prefix: str) -> None:
    cache = store(redis_prefix)
    cache.set("count", ("v1", 7))
    connection_id = client_of(cache).get_client().client_id()  # the pooled connection's, on the server

    assert redis.Redis.from_url(TEST_REDIS_URL).client_kill_filter(_id=connection_id) == 1
    assert cache.get("count") == ("v1", 7)
    cache.set("count", ("v2", 8))
    assert cache.get("count") == ("v2", 8)


def test_writes_go_to_the_first_server_and_reads_to_the_others_each_on_its_own_client(redis_prefix: str) -> None:
    # Two databases of the test Redis stand for a primary and a replica (nothing replicates).
    primary, replica = TEST_REDIS_URL, TEST_REDIS_URL.rsplit("/", 1)[0] + "/14"
    cache = RedisCache(f"{primary},{replica}", {"KEY_PREFIX": redis_prefix})
    clients = client_of(cache)

    cache.set("count", ("v1", 7))

    assert clients.get_client(write=True) is clients.get_client(write=True)
    assert clients.get_client(write=False) is clients.get_client(write=False)
    assert clients.get_client(write=True) is not clients.get_client(write=False)
    assert redis.Redis.from_url(primary).exists(f"{redis_prefix}:1:count") == 1
    assert redis.Redis.from_url(replica).exists(f"{redis_prefix}:1:count") == 0
    assert cache.get("count") is None  # read from the replica


def test_production_settings_keep_the_counts_and_throttle_on_this_cache() -> None:
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['counts']['BACKEND'], settings.CACHES['throttle']['BACKEND'])"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="rivergen.settings", SECRET_KEY="s" * 64, REDIS_URL=TEST_REDIS_URL)

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["rivergen.cache.RedisCache", "rivergen.cache.RedisCache"]
