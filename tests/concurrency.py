"""Real threads for race tests on PostgreSQL (use with `django_db(transaction=True)`)."""

import threading
from collections.abc import Callable

from django.db import connection


def run_together(work: Callable[[int], object], threads: int) -> list:
    """Run work(0..threads-1) in real threads released at the same instant; each result or exception.

    Each thread closes its own database connection when done.
    """
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in pool), "a thread did not finish within 60 s"
    return results
