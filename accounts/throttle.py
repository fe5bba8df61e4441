"""Counting attempts in fixed windows, before the work they ask for is done.

A limit checked after the work (send the email, check the proofs, then count) lets
a burst of concurrent requests all pass the check before the first is counted. Here
each attempt is counted first, atomically, and the caller compares the count it got
back with its limit.

The counts live in the default cache. With the local-memory cache (the one
configured) ``add`` and ``incr`` each hold the cache's lock, so a count is exact
among the threads of one web process and each process keeps its own (a limit then
holds per process); a shared cache with atomic ``incr`` (Redis, Memcached) makes it
one count for the whole site.
"""

from django.core.cache import cache


def count_attempt(key: str, *, window: int) -> int:
    """Count one attempt under ``key`` and return the count, this one included.

    The window starts with the first attempt and lasts ``window`` seconds.
    """
    while True:
        cache.add(key, 0, timeout=window)
        try:
            return cache.incr(key)
        except ValueError:  # the window ended between add and incr
            continue


def give_back_attempt(key: str) -> None:
    """Uncount one attempt that turned out not to count against the limit."""
    try:
        cache.decr(key)
    except ValueError:
        return  # the window ended meanwhile: nothing left to give back
