"""Encryption of the per-conversation PII vault before it is stored.

The key comes from ``CARELINE_VAULT_KEY``. Without one, careline keeps a key of its own in
``<data dir>/vault.key`` (made on first start, readable by its owner only): processes on this
machine share it and it survives a restart, so vaults and the intake stream's entries stay
readable. Replicas on other machines need ``CARELINE_VAULT_KEY``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from bot.config import Settings
from safety.pii import Vault

log = logging.getLogger(__name__)


KEY_FILE = "vault.key"


def vault_key(settings: Settings) -> str:
    """``CARELINE_VAULT_KEY``, or the key kept in the data directory (made if missing)."""
    if settings.vault_key is not None:
        return settings.vault_key.get_secret_value()
    path = Path(settings.data_dir) / KEY_FILE
    try:
        key = path.read_text().strip()
        Fernet(key.encode())
        return key
    except FileNotFoundError:
        pass
    except ValueError:
        log.error("%s is not a Fernet key: set aside, making a new one", path)
        path.rename(path.with_suffix(".bad"))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    try:
        os.link(tmp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink()
    log.warning(
        "CARELINE_VAULT_KEY is not set: using the key in %s (replicas on other machines "
        "need CARELINE_VAULT_KEY)",
        path,
    )
    return key


class VaultCipher:
    def __init__(self, key: str) -> None:
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
