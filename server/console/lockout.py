"""Failed sign-ins slow down, then lock, sign-in: per user name and per source address.

    failures 1..3       no wait
    failures 4..9       wait 2, 4, 8, ... seconds (at most MAX_DELAY) after the last failure
    failures 10+        locked for LOCK_SECONDS after the last failure

Counting looks only at the name typed, never at whether that user exists, so a lock says
nothing about who exists. Failures older than LOCK_SECONDS are forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbpresign.server.api.clock import Clock
from nbpresign.server.storage import Storage


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 3
    lock_after: int = 10
    lock_seconds: float = 900.0
    max_delay: float = 60.0


def wait_seconds(policy: LockoutPolicy, failures: int, last_failure: float, now: float) -> float:
    """How long from `now` before the next attempt is heard; 0 or less: now."""
    if failures >= policy.lock_after:
        return last_failure + policy.lock_seconds - now
    if failures < policy.free_failures:
        return 0.0
    delay = min(2.0 ** (failures - policy.free_failures + 1), policy.max_delay)
    return last_failure + delay - now


def subjects(user_name: str, source_ip: str) -> tuple[str, str]:
    return f"user:{user_name}", f"ip:{source_ip}"


@dataclass(frozen=True)
class Refusal:
    seconds: float
    locked: bool

    @property
    def message(self) -> str:
        if self.locked:
            minutes = max(1, round(self.seconds / 60))
            return (
                "Sign-in is locked after too many failed attempts. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
        seconds = max(1, round(self.seconds))
        return f"Too many failed attempts. Wait {seconds} seconds, then try again."


class Lockout:
    def __init__(self, storage: Storage, clock: Clock, policy: LockoutPolicy) -> None:
        self._storage = storage
        self._clock = clock
        self._policy = policy

    async def refusal(self, user_name: str, source_ip: str) -> Refusal | None:
        """Why no attempt is heard now, for this name or from this address; None: go on."""
        now = self._clock()
        worst: Refusal | None = None
        for subject in subjects(user_name, source_ip):
            failures, last = await self._storage.sign_in_failures(
                subject, since=now - self._policy.lock_seconds
            )
            wait = wait_seconds(self._policy, failures, last, now)
            if wait > 0 and (worst is None or wait > worst.seconds):
                worst = Refusal(wait, failures >= self._policy.lock_after)
        return worst

    async def failed(self, user_name: str, source_ip: str) -> None:
        now = self._clock()
        for subject in subjects(user_name, source_ip):
            await self._storage.record_sign_in_failure(
                subject, since=now - self._policy.lock_seconds, now=now
            )

    async def succeeded(self, user_name: str) -> None:
        """The name's count starts over; the address's does not (one good account must not
        reset the count of an address trying many)."""
        await self._storage.clear_sign_in_failures(subjects(user_name, "")[0])
