"""Mask personal information in patient text before any model, log or store sees it.

Detection runs on the normalised text (full-width digits, traditional characters) and maps
every span back to the original text, so offsets always refer to what the patient wrote.
Numbers are validated, not just shaped: Chinese ID check digits and birth dates, Luhn for bank
cards, real mobile prefixes, ``phonenumbers`` for landlines. Names come from cues ("我叫",
"my name is"), titles ("张伟医生", "Dr."), jieba tokens that start with a surname, chat
mentions ("@刘晓燕"), middle-dot and list shapes, and a small character CRF
(``safety.name_model``) that finds names with no cue at all and must agree with the rules'
weaker guesses; minus a shipped list of herbs, medicines, lab tests and everyday words that
are never names. A name found once is masked wherever it recurs in the message.

The package: ``vault`` (kinds, placeholders, the per-conversation vault), ``checks`` (check
digits and other validators), ``numbers`` (phones, IDs, cards and other structured
identifiers), ``address`` (postal addresses), ``names_zh_data``, ``names_zh_shapes``,
``names_zh_model`` and ``names_zh`` (names in Chinese characters), ``names_en`` (names in
Latin letters), ``base`` (what the detectors share) and ``detector`` (which runs them all).
This module is the public API.
"""

from __future__ import annotations

from safety.pii.checks import (
    luhn_ok,
    valid_cn_id,
    valid_cn_mobile,
    valid_hkid,
    valid_nric,
    valid_old_cn_id,
    valid_twid,
)
from safety.pii.detector import Entity, MaskResult, detect_entities, identifiers, mask, warm_up
from safety.pii.names_en import english_given_names, given_names
from safety.pii.names_zh_data import (
    MODEL_ACCEPT,
    MODEL_SURE,
    NAME_ACCEPT,
    UNCUED_MODEL_MIN,
    UNCUED_SURE,
    name_lexicon,
)
from safety.pii.vault import (
    KINDS,
    PLACEHOLDER_RE,
    VAULT_FORMAT,
    ZH_LABELS,
    Vault,
    VaultFormatError,
    kind_of,
)

__all__ = [
    "KINDS",
    "MODEL_ACCEPT",
    "MODEL_SURE",
    "NAME_ACCEPT",
    "PLACEHOLDER_RE",
    "UNCUED_MODEL_MIN",
    "UNCUED_SURE",
    "VAULT_FORMAT",
    "ZH_LABELS",
    "Entity",
    "MaskResult",
    "Vault",
    "VaultFormatError",
    "detect_entities",
    "english_given_names",
    "given_names",
    "identifiers",
    "kind_of",
    "luhn_ok",
    "mask",
    "name_lexicon",
    "valid_cn_id",
    "valid_cn_mobile",
    "valid_hkid",
    "valid_nric",
    "valid_old_cn_id",
    "valid_twid",
    "warm_up",
]
