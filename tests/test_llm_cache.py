"""LLM cache backends: counts HIT/MISS, persists (SQLite), is shared (Redis, a real server on loopback)."""

import shutil
import socket
import subprocess
import time

import pytest

from rag.errors import ConfigError
from rag.llm_cache import MemoryCache, SQLiteCache, cache_key, open_cache
from ui.cli import main


def test_key_depends_on_model_prompt_version_and_messages():
    m = [{"role": "user", "content": "질문"}]
    assert cache_key("a", "answer@1.0", m) == cache_key("a", "answer@1.0", [dict(m[0])])
    assert len({cache_key("a", "answer@1.0", m), cache_key("b", "answer@1.0", m), cache_key("a", "answer@1.1", m),
                cache_key("a", "answer@1.0", [{"role": "user", "content": "다른 질문"}])}) == 4


def test_sqlite_cache_persists_entries_and_counts_across_instances(tmp_path):
    first = SQLiteCache(tmp_path / "c")
    assert first.get("k") is None
    first.set("k", "답 [1]")
    assert first.get("k") == "답 [1]"
    again = SQLiteCache(tmp_path / "c")
    assert again.get("k") == "답 [1]"
    assert again.stats() | {"path": ""} == {"backend": "sqlite", "hits": 2, "misses": 1, "entries": 1, "path": ""}
    again.clear()
    assert again.stats()["entries"] == 0 and again.stats()["hits"] == 0


def test_cache_stats_command(tmp_path, capsys):
    cache = open_cache("sqlite", tmp_path)
    cache.get("x")
    cache.set("x", "y")
    cache.get("x")
    assert main(["--data-dir", str(tmp_path), "cache", "stats"]) == 0
    out = capsys.readouterr().out
    assert '"hits": 1' in out and '"misses": 1' in out and '"entries": 1' in out


def test_unknown_cache_spec_lists_the_valid_forms(tmp_path):
    with pytest.raises(ConfigError, match="redis://"):
        open_cache("memcached://x", tmp_path)
    assert isinstance(open_cache("memory", tmp_path), MemoryCache)


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make system-deps` (Debian package redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.server
def test_redis_cache_is_shared_between_clients(redis_url, tmp_path):
    one, two = open_cache(redis_url, tmp_path), open_cache(redis_url, tmp_path)
    assert one.get("k") is None
    one.set("k", "공유된 답 [1]")
    assert two.get("k") == "공유된 답 [1]"
    stats = two.stats()
    assert (stats["backend"], stats["hits"], stats["misses"], stats["entries"]) == ("redis", 1, 1, 1)
    one.clear()
    assert two.get("k") is None
