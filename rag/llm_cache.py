"""LLM response cache keyed by model + prompt version + prompt: SQLite (default), memory, Redis by URL, or off."""

import hashlib
import json
from pathlib import Path
from typing import Protocol

from rag.errors import ConfigError, MissingExtraError

VALID_FORMS = ["sqlite", "memory", "off", "redis://host:port/db"]


def cache_key(model: str, prompt_version: str, messages: list[dict]) -> str:
    payload = json.dumps([model, prompt_version, messages], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class LLMCache(Protocol):
    backend: str

    def get(self, key: str) -> str | None:
        """The cached text, counting a HIT or a MISS."""
        ...

    def set(self, key: str, value: str) -> None: ...

    def stats(self) -> dict: ...

    def clear(self) -> None: ...


class MemoryCache:
    backend = "memory"

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self.hits = self.misses = 0

    def get(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def set(self, key: str, value: str) -> None:
        self._data[key] = value

    def stats(self) -> dict:
        return {"backend": self.backend, "hits": self.hits, "misses": self.misses, "entries": len(self._data)}

    def clear(self) -> None:
        self._data.clear()
        self.hits = self.misses = 0


class NullCache(MemoryCache):
    backend = "off"

    def set(self, key: str, value: str) -> None:
        return None


class SQLiteCache:
    """diskcache's SQLite store; its HIT/MISS counters persist, so `partners cache stats` sees every process."""

    backend = "sqlite"

    def __init__(self, folder: Path) -> None:
        import diskcache

        self.folder = folder
        self._cache = diskcache.Cache(str(folder))
        self._cache.stats(enable=True)

    def get(self, key: str) -> str | None:
        return self._cache.get(key)

    def set(self, key: str, value: str) -> None:
        self._cache.set(key, value)

    def stats(self) -> dict:
        hits, misses = self._cache.stats()
        return {"backend": self.backend, "hits": hits, "misses": misses, "entries": len(self._cache),
                "path": str(self.folder)}

    def clear(self) -> None:
        self._cache.clear()
        self._cache.stats(reset=True)


class RedisCache:
    """Shared by every app process that points at the same Redis; counters are Redis keys too."""

    backend = "redis"
    PREFIX = "partners:llm:"

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise MissingExtraError("The Redis LLM cache", "redis") from exc
        self.url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=2, decode_responses=True)

    def get(self, key: str) -> str | None:
        value = self._redis.get(self.PREFIX + key)
        self._redis.incr(self.PREFIX + ("stats:hits" if value is not None else "stats:misses"))
        return value

    def set(self, key: str, value: str) -> None:
        self._redis.set(self.PREFIX + key, value)

    def stats(self) -> dict:
        hits, misses = self._redis.mget(self.PREFIX + "stats:hits", self.PREFIX + "stats:misses")
        entries = sum(1 for k in self._redis.scan_iter(self.PREFIX + "*") if ":stats:" not in k)
        return {"backend": self.backend, "hits": int(hits or 0), "misses": int(misses or 0), "entries": entries,
                "url": self.url}

    def clear(self) -> None:
        keys = list(self._redis.scan_iter(self.PREFIX + "*"))
        if keys:
            self._redis.delete(*keys)


def open_cache(spec: str, data_dir: Path) -> LLMCache:
    """`sqlite` (under the data dir), `memory`, `off`, or a `redis://` / `rediss://` URL."""
    spec = spec.strip()
    if spec == "sqlite":
        return SQLiteCache(data_dir / "llm_cache")
    if spec == "memory":
        return MemoryCache()
    if spec == "off":
        return NullCache()
    if spec.startswith(("redis://", "rediss://", "unix://")):
        return RedisCache(spec)
    raise ConfigError(f"Unknown PARTNERS_LLM_CACHE {spec!r}. Valid forms: {', '.join(VALID_FORMS)}.")
