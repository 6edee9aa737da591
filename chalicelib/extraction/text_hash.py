"""A 64-bit SimHash (Charikar 2002) of the numbers a receipt prints, as read: the same paper read twice (two
photos, two OCR runs with their own slips) hashes some bits apart; another receipt of the same layout (the same
café's header and footer, but other prices, total, date, time and number) hashes further away.

Why beside the image hash: two receipts of one layout look alike at the resolution a perceptual hash keeps
(bench/rephoto.py: other receipts of a layout come within 2 bits), while their numbers differ; and the total or
date alone is missing whenever OCR missed it. Why numbers and not every word: the words of one layout are the
same on all its receipts (bench/rephoto.py measured words and 4-grams: they separate worse).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_NUMBER = re.compile(r"\d[\d,.:/-]*\d|\d")
#: Fewer distinct numbers than this say too little to compare.
MIN_NUMBERS = 4


def text_hash(lines: Iterable[str]) -> str | None:
    """16 hex digits, or None when the text holds fewer than MIN_NUMBERS distinct numbers."""
    numbers = {n for line in lines for n in _NUMBER.findall(unicodedata.normalize("NFKC", line))}
    if len(numbers) < MIN_NUMBERS:
        return None
    weights = [0] * 64
    for number in numbers:
        h = int.from_bytes(hashlib.blake2b(number.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return f"{sum(1 << bit for bit in range(64) if weights[bit] > 0):016x}"
