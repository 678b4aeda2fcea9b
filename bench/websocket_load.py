"""Load for "many open WebSockets": people open AuthorizedUrls, each keeps WebSockets open
(Jupyter's event stream, as every JupyterLab tab does), and while all of them stay open,
small requests (GET /api/status) go through the proxy at a steady rate.

    python websocket_load.py URLS_FILE SOCKETS_EACH SECONDS RATE  -> prints JSON

URLS_FILE has one AuthorizedUrl per person. The requests are sent on a schedule (one every
1/RATE s, whether or not the one before has answered), so a slow proxy shows as latency
instead of as fewer requests.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import sys
import time
from urllib.parse import urlsplit

import aiohttp
from redeem_load import Loopback, read_urls

OPENING_AT_ONCE = 50  # WebSocket handshakes in flight together while opening
DEADLINE = 30.0  # seconds: a request or handshake that takes longer counts as failed


class Person:
    def __init__(self, url: str) -> None:
        self.url = url
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        self.browser = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=Loopback(), limit=0),
            timeout=aiohttp.ClientTimeout(total=DEADLINE),
        )
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def redeem(self) -> bool:
        async with self.browser.get(self.url, allow_redirects=False) as redeemed:
            return redeemed.status == 303

    async def open_socket(self) -> bool:
        try:
            ws = await self.browser.ws_connect(
                f"{self.origin}/api/events/subscribe", origin=self.origin
            )
        except (aiohttp.ClientError, TimeoutError):
            return False
        self.sockets.append(ws)
        return True

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        await self.browser.close()

    async def status(self) -> bool:
        try:
            async with self.browser.get(f"{self.origin}/api/status") as response:
                await response.read()
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


async def open_all(people: list[Person], each: int) -> int:
    """Opens `each` sockets per person, OPENING_AT_ONCE at a time; returns the failures."""
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def one(person: Person) -> bool:
        async with gate:
            return await person.open_socket()

    opened = await asyncio.gather(*(one(p) for p in people for _ in range(each)))
    return opened.count(False)


async def steady(
    people: list[Person], seconds: float, rate: float
) -> tuple[list[tuple[float, float]], int]:
    """(when it was sent, seconds into the run; how long it took) for each request."""
    timings: list[tuple[float, float]] = []
    failures = 0
    rng = random.Random(1)

    async def one(person: Person) -> None:
        nonlocal failures
        start = time.perf_counter()
        ok = await person.status()
        timings.append((start - begin, time.perf_counter() - start))
        failures += not ok

    tasks = []
    begin = time.perf_counter()
    for n in range(int(seconds * rate)):
        await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
        tasks.append(asyncio.ensure_future(one(rng.choice(people))))
    await asyncio.gather(*tasks)
    return timings, failures


async def main(path: str, each: int, seconds: float, rate: float) -> None:
    people = [Person(url) for url in read_urls(path)]
    try:
        redeemed = await asyncio.gather(*(p.redeem() for p in people))
        assert all(redeemed), "a URL was not redeemed"
        started = time.perf_counter()
        open_failures = await open_all(people, each)
        opening_seconds = time.perf_counter() - started
        # The load's own 2,000 sockets are long-lived objects: keep the collector from
        # walking them mid-run, so its pauses do not count as the proxy's latency.
        gc.freeze()
        started = time.perf_counter()
        timings, failures = await steady(people, seconds, rate)
        elapsed = time.perf_counter() - started
        slowest = sorted(timings, key=lambda t: -t[1])[: max(1, len(timings) // 100)]
        still_open = sum(not ws.closed for p in people for ws in p.sockets)
        print(
            json.dumps(
                {
                    "people": len(people),
                    "websockets_asked": len(people) * each,
                    "websockets_failed": open_failures,
                    "websockets_open_at_end": still_open,
                    "opening_seconds": opening_seconds,
                    "requests": len(timings),
                    "failures": failures,
                    "seconds": elapsed,
                    "latencies": [taken for _, taken in timings],
                    # The slowest 1%: (sent at, seconds into the run; took), by when sent.
                    "slowest": sorted((round(a, 2), round(b, 4)) for a, b in slowest),
                }
            )
        )
    finally:
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])))
