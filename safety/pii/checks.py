"""Validators of structured identifiers: mainland ID check characters and birth dates, Luhn
sums of bank cards, mainland mobile prefixes, and the check digits of Hong Kong, Taiwan
and Singapore identity numbers.
"""

from __future__ import annotations

import datetime as dt

# Valid mainland mobile prefixes (first three digits).
_MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "146", "147", "148", "149"]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in range(9)]
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_MIN_YEAR = 1900


def valid_cn_id(number: str) -> bool:
    """18-character mainland ID: region, real birth date, GB 11643 check character."""
    n = number.upper()
    if len(n) != 18 or not n[:17].isdigit() or not (n[17].isdigit() or n[17] == "X"):
        return False
    if not (n[0] in "123456" or n[:2] in ("81", "82", "83")):
        return False
    if not _real_birth_date(n[6:14]):
        return False
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == n[17]


def valid_old_cn_id(number: str) -> bool:
    """15-digit mainland ID (issued before 1999): region and a real birth date (19YYMMDD);
    it has no check digit."""
    if len(number) != 15 or not number.isdigit() or number[0] not in "123456":
        return False
    return _real_birth_date("19" + number[6:12])


def _id_shaped(digits: str) -> bool:
    """18 digits with a region and a real birth date inside: an ID number with a typo in its
    check digit, not a bank card that passes Luhn by chance (one number in ten does)."""
    return len(digits) == 18 and digits[0] in "123456" and _real_birth_date(digits[6:14])


def _real_birth_date(yyyymmdd: str) -> bool:
    """A date of birth that exists, from 1900 to today."""
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born.year >= _ID_MIN_YEAR and born <= dt.date.today()


def valid_nric(prefix: str, digits: str, check: str) -> bool:
    """Singapore NRIC (S, T) or FIN (F, G): the check letter of the weighted digit sum."""
    total = sum(int(d) * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True))
    if prefix in "TG":
        total += 4
    letters = "JZIHGFEDCBA" if prefix in "ST" else "XWUTRQPNMLK"
    return letters[total % 11] == check


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def valid_cn_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[:3] in _MOBILE_PREFIXES


def valid_hkid(letters: str, digits: str, check: str) -> bool:
    vals = [36] if len(letters) == 1 else []
    vals += [ord(c) - ord("A") + 10 for c in letters]
    vals += [int(d) for d in digits]
    total = sum(v * w for v, w in zip(vals, range(9, 1, -1), strict=True))
    expect = (11 - total % 11) % 11
    return check == ("A" if expect == 10 else str(expect))


_TW_LETTERS = {c: v for v, c in enumerate("ABCDEFGHJKLMNPQRSTUVXYWZIO", start=10)}


def valid_twid(value: str) -> bool:
    code = _TW_LETTERS.get(value[0])
    if code is None:
        return False
    nums = [code // 10, code % 10] + [int(c) for c in value[1:]]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(n * w for n, w in zip(nums, weights, strict=True)) % 10 == 0
