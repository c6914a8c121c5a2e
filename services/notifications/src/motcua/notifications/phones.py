"""Vietnamese phone numbers in E.164 (+84…). Pure.

People write numbers as 0912 345 678, 84912345678, +84 912-345-678 or (0912).345.678; a
provider wants one form. Since 2018 the 11-digit mobile numbers (01xx prefixes) moved to
10 digits (Decision 798/QĐ-BTTTT): 0162… became 032…, and so on. A number still written with
an old prefix is mapped to its new one, so that a contact recorded years ago still reaches
its owner.
"""

from __future__ import annotations

import re

from motcua.kernel.errors import InvalidArgument

# Old 11-digit mobile prefixes (after the leading 0) -> their 10-digit replacements.
OLD_PREFIXES = {
    # Viettel
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
    # MobiFone
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
    # VinaPhone
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
    # Vietnamobile
    "186": "56", "188": "58",
    # Gmobile
    "199": "59",
}

# Leading digits of the national significant numbers in use (9 digits after +84): mobiles
# 3x, 5x, 7x, 8x, 9x; fixed lines 2x (area code included).
_NATIONAL = re.compile(r"^(?:[35789]\d{8}|2\d{9})$")
_SEPARATORS = re.compile(r"[\s.\-()]")


def normalise_phone(raw: str, field: str = "address") -> str:
    """``raw`` as E.164, e.g. ``"0912 345 678"`` -> ``"+84912345678"``; INVALID_ARGUMENT naming
    ``field`` when it is not a Vietnamese mobile or fixed-line number."""
    digits = _SEPARATORS.sub("", raw.strip())
    if digits.startswith("+84"):
        national = digits[3:]
    elif digits.startswith("0084"):
        national = digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    if national.startswith("0"):  # +84 0912…: the trunk prefix written after the country code
        national = national[1:]
    if not national.isdigit():
        raise InvalidArgument.field(field, f"{raw!r} is not a phone number: digits, spaces, dots, dashes and a "
                                           "leading +84 only", "INVALID_PHONE_NUMBER")
    if len(national) == 10 and national[:3] in OLD_PREFIXES:
        national = OLD_PREFIXES[national[:3]] + national[3:]
    if not _NATIONAL.match(national):
        raise InvalidArgument.field(field, f"{raw!r} is not a Vietnamese phone number (e.g. 0912 345 678 or "
                                           "+84912345678)", "INVALID_PHONE_NUMBER")
    return "+84" + national


def national_form(e164: str) -> str:
    """``"+84912345678"`` -> ``"0912345678"``, as Vietnamese SMS providers take it."""
    return "0" + e164.removeprefix("+84")
