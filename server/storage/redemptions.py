"""URL tokens already used, kept until they expire: each token opens one session."""

from __future__ import annotations

from nbpresign.server.storage.database import Database


async def redeem_once(db: Database, token_id: str, *, expires_at: float, now: float) -> bool:
    """Records a URL token as used: True the first time, False ever after.

    Records whose token has expired are purged on the way: an expired token is
    refused on its expiry alone, so its record is no longer needed.
    """
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM redeemed_tokens WHERE expires_at <= $1", now)
        inserted = await tx.execute(
            "INSERT INTO redeemed_tokens (token_id, expires_at) VALUES ($1, $2) "
            "ON CONFLICT (token_id) DO NOTHING",
            token_id,
            expires_at,
        )
    return inserted == 1
