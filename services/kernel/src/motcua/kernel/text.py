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
