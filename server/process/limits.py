"""What a client may hold of the service, and for how long.

    Limits(header_timeout=10, body_timeout=30, idle_timeout=75, max_connections=None)

Each listener (HTTP, gRPC) takes at most `connections(open_files)` connections at once:
by default a third of the descriptors each, after RESERVED_DESCRIPTORS for files, the
database and logs (an HTTP connection may hold a second descriptor, to Jupyter), so that
accepting never runs out of descriptors. Past the limit a connection is refused with a 503.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

from nbpresign.server.http.bodies import DEFAULT_BODY_TIMEOUT

log = logging.getLogger(__name__)

DEFAULT_HEADER_TIMEOUT = 10.0  # a request's line and headers, from its first byte
DEFAULT_IDLE_TIMEOUT = 75.0  # a kept-alive connection between requests (above most LBs' 60)
DEFAULT_SHUTDOWN_GRACE = 10.0
RESERVED_DESCRIPTORS = 256
# A soft limit is raised at most this far when the hard one is unlimited (Linux's nr_open).
MAX_OPEN_FILES = 1 << 20


@dataclass(frozen=True)
class Limits:
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT  # the longest pause while a body arrives
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int | None = None  # per listener; None: from the open-file limit

    def connections(self, open_files: int) -> int:
        """How many connections each listener takes at once, given the open-file limit."""
        if self.max_connections is not None:
            return self.max_connections
        return max(1, (open_files - RESERVED_DESCRIPTORS) // 3)


def raise_open_file_limit() -> int:
    """Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return MAX_OPEN_FILES if soft == resource.RLIM_INFINITY else soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as exc:
        log.warning("cannot raise the open-file limit from %d to %d: %s", soft, wanted, exc)
        return soft
    return wanted
