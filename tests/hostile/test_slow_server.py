"""Issue 19, intake: a server that trickles its answer cannot hold a fetch past its deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from pytest_django.fixtures import Settings

from sources import feeds
from sources.fetching import FetchError, fetch
from sources.models import Feed


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """Answers every request with a body of 200 bytes, one byte every 0.2 s (well within a read timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _address = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 200\r\n\r\n")
                for _ in range(200):
                    if stop.is_set():
                        return
                    try:
                        connection.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_fetch_gives_up_at_its_deadline_however_steadily_the_bytes_come(
    trickling_server: str, settings: Settings
) -> None:
    settings.NEWSROOM_FETCH_DEADLINE_SECONDS = 1.5
    started = time.monotonic()

    with pytest.raises(FetchError, match=r"not done after 1.5 s in all"):
        fetch(trickling_server)

    assert time.monotonic() - started < 5, "the deadline, not the 40 s the body would take"


def test_a_poll_cut_by_the_task_s_soft_time_limit_is_a_recorded_failure(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def out_of_time(*args: object, **kwargs: object) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(feeds, "fetch", out_of_time)

    assert feeds.feed_poll(feed_id=feed.pk) == []

    feed.refresh_from_db()
    assert (feed.consecutive_failures, feed.last_error) == (1, "Polling took longer than its time limit.")
    assert feed.next_poll_at > feed.last_polled_at
