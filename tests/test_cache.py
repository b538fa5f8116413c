"""The Redis cache (rivergen/cache.py): one redis-py client per pool, reused on every call."""

from typing import Any

import redis

from rivergen.cache import RedisCache
from tests.conftest import TEST_REDIS_URL


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
