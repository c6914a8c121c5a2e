"""Vietnamese text folded for search: no diacritics, lower case, single spaces. Pure."""

from __future__ import annotations

import unicodedata

# Unicode decomposes every Vietnamese letter into a base letter and combining marks,
# except đ/Đ (a letter of its own, "d with stroke").
_STROKES = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """``"Đăng ký  Khai sinh"`` -> ``"dang ky khai sinh"``."""
    decomposed = unicodedata.normalize("NFD", text.translate(_STROKES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())


def unaccented(text: str) -> str:
    """``"Hồ sơ Đã nhận"`` -> ``"Ho so Da nhan"``: case and spacing kept, for channels that
    carry only ASCII (an SMS in GSM-7 fits 160 characters a segment, in UCS-2 only 70)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_CASED_STROKES))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


_CASED_STROKES = str.maketrans({"đ": "d", "Đ": "D"})
