"""Load for "redemption plus one proxied request": each iteration opens one AuthorizedUrl
(GET ?authToken=..., 303 and a session cookie) and then GET /api/status through the proxy.

    python redeem_load.py URLS_FILE CONCURRENCY  -> prints JSON {requests, seconds, latencies}

Tokens are single-use, so every iteration takes the next URL from the file.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult


class Loopback(AbstractResolver):
    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


async def worker(urls: list[str], latencies: list[float], failures: list[int]) -> None:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=Loopback())
    ) as session:
        while urls:
            url = urls.pop()
            start = time.perf_counter()
            async with session.get(url, allow_redirects=False) as redeemed:
                cookie = redeemed.cookies.get("nbpresign-session")
            if redeemed.status == 303 and cookie is not None:
                origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
                headers = {"Cookie": f"nbpresign-session={cookie.value}"}
                async with session.get(
                    f"{origin}/api/status", headers=headers, allow_redirects=False
                ) as status:
                    await status.read()
                    ok = status.status == 200
            else:
                ok = False
            latencies.append(time.perf_counter() - start)
            if not ok:
                failures.append(1)


def read_urls(path: str) -> list[str]:
    with open(path) as listing:
        return [line.strip() for line in listing if line.strip()]


async def main(path: str, concurrency: int) -> None:
    urls = read_urls(path)
    latencies: list[float] = []
    failures: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(worker(urls, latencies, failures) for _ in range(concurrency)))
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "failures": len(failures),
                "seconds": time.perf_counter() - start,
                "latencies": latencies,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
