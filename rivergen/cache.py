"""Django's Redis cache, keeping one redis-py client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` on every cache call. redis-py 8's
constructor copies its table of reply parsers into a case-insensitive dict, key by key:
~70 µs of CPU, more than the round trip it is for (a remembered count's lookup paid it
on every search request; bench/instructions.py). A client holds nothing but
its pool, which every client of it shares anyway, and is safe to use from any thread:
one per pool is kept and reused.
"""

from typing import Any

from django.core.cache.backends import redis


class KeptClientRedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id of a pool that self._pools keeps for good

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(redis.RedisCache):
    """`django.core.cache.backends.redis.RedisCache`, with KeptClientRedisCacheClient."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = KeptClientRedisCacheClient
