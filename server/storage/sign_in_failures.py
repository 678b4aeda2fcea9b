"""Failed console sign-ins, counted per subject ("user:<name>", "ip:<address>") in the
database, so that every replica counts the same failures."""

from __future__ import annotations

from nbpresign.server.storage.database import Database


async def get(db: Database, subject: str, *, since: float) -> tuple[int, float]:
    """(failures, time of the last one) counted since `since`; (0, 0.0) when none."""
    row = await db.fetchrow(
        "SELECT failures, last_failure FROM sign_in_failures "
        "WHERE subject = $1 AND last_failure > $2",
        subject,
        since,
    )
    return (0, 0.0) if row is None else (int(row[0]), float(row[1]))


async def record(db: Database, subject: str, *, since: float, now: float) -> int:
    """Counts one more failure (restarting the count if the last was before `since`)."""
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM sign_in_failures WHERE subject = $1 AND last_failure <= $2",
            subject,
            since,
        )
        await tx.execute(
            "INSERT INTO sign_in_failures (subject, failures, last_failure) VALUES ($1, 1, $2) "
            "ON CONFLICT (subject) DO UPDATE SET failures = sign_in_failures.failures + 1, "
            "last_failure = excluded.last_failure",
            subject,
            now,
        )
        return int(
            await tx.fetchval("SELECT failures FROM sign_in_failures WHERE subject = $1", subject)
        )


async def clear(db: Database, subject: str) -> None:
    await db.execute("DELETE FROM sign_in_failures WHERE subject = $1", subject)
