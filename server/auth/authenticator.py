"""Who signed a request: SigV4 verified against the access keys in storage."""

from __future__ import annotations

from datetime import UTC, datetime

from nbpresign.server.api.clock import Clock
from nbpresign.server.auth import sigv4
from nbpresign.server.iam.identities import ACTIVE, Principal, user_arn
from nbpresign.server.iam.sealing import SealError, SecretBox
from nbpresign.server.storage import Storage

SECRET_CACHE_SIZE = 10_000


class Authenticator:
    def __init__(
        self, storage: Storage, box: SecretBox, *, region: str, account_id: str, clock: Clock
    ) -> None:
        self._storage = storage
        self._box = box
        self._region = region
        self._account_id = account_id
        self._clock = clock
        self._secrets: dict[bytes, str] = {}  # sealed secret -> opened (Fernet costs ~50 us)

    def _opened(self, sealed: bytes) -> str:
        # Keyed by the sealed bytes just read from storage: a deleted or replaced key is
        # never found here, because storage no longer returns its sealed bytes.
        secret = self._secrets.get(sealed)
        if secret is None:
            secret = self._box.open(sealed)
            if len(self._secrets) >= SECRET_CACHE_SIZE:
                self._secrets.clear()
            self._secrets[sealed] = secret
        return secret

    async def authenticate(self, request: sigv4.SignedRequest) -> Principal:
        """The principal whose key signed `request`; raises the AWS error otherwise."""
        auth = sigv4.parse_authorization(request.headers.get("authorization"))
        now = datetime.fromtimestamp(self._clock(), UTC)
        amz_date = sigv4.check_scope(auth, request, region=self._region, now=now)
        key = await self._storage.get_access_key(auth.key_id)
        if key is None or key.status != ACTIVE:
            raise sigv4.unrecognized_client()
        try:
            secret = self._opened(key.sealed_secret)
        except SealError:
            raise sigv4.unrecognized_client() from None
        expected = sigv4.expected_signature(auth, request, secret, amz_date)
        if not sigv4.signatures_match(expected, auth.signature):
            raise sigv4.invalid(sigv4.SIGNATURE_MISMATCH)
        return Principal(user_arn(self._account_id, key.user_name), key.user_name, key.key_id)
