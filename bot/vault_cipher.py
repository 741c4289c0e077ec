"""Encryption of the per-conversation PII vault before it is stored.

The key comes from ``CARELINE_VAULT_KEY``. Without one, careline makes a key for this process
only: vaults then do not survive a restart, and placeholders from before it are dropped from
answers instead of restored.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken

from safety.pii import Vault

log = logging.getLogger(__name__)


class VaultCipher:
    def __init__(self, key: str | None) -> None:
        if key is None:
            log.warning(
                "CARELINE_VAULT_KEY is not set: using a key for this process only; "
                "masked values cannot be restored after a restart"
            )
            key = Fernet.generate_key().decode()
        self._fernet = Fernet(key.encode())

    def seal(self, vault: Vault) -> bytes:
        return self._fernet.encrypt(vault.to_bytes())

    def open(self, blob: bytes | None) -> Vault:
        """The stored vault, or a new empty one when there is none or it cannot be read."""
        if not blob:
            return Vault()
        try:
            return Vault.from_bytes(self._fernet.decrypt(blob))
        except (InvalidToken, ValueError):
            log.warning("a stored PII vault could not be decrypted; starting a new one")
            return Vault()
