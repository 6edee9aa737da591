"""Apply the vendor directory to an extracted receipt: a canonical name when the directory knows the merchant.

Why after resolving and not inside it: the resolver reads what the paper says (``vendor_read``); the directory
decides who that is. Keeping them apart lets finance change the directory without touching the OCR rules, and a
saved Textract response gets the same canonical name as our own OCR.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from ..domain.vendors import VendorDirectory, VendorMatch, seed_directory

__all__ = ["VendorDirectory", "apply_directory", "default_directory", "tidy_read_name"]
from .models import ExtractedReceipt

#: Vendor confidence when the directory confirms the name: the match score, scaled so that only an exact
#: containment reaches the top (OCR on a logo is never certain, a known name read from it nearly is).
CONFIRMED_CONFIDENCE = 0.95

# marks a Latin receipt name never carries but specks on thermal paper add (ogonek, dot below, hook ...);
# accents of real names (Café) stay
_KEPT_MARKS = set(range(0x300, 0x309)) | {0x327}


@functools.lru_cache(maxsize=1)
def default_directory() -> VendorDirectory:
    """The seed directory, loaded once per process (finance entries are merged by the caller that has them)."""
    return seed_directory()


def tidy_read_name(name: str) -> str:
    """An unknown merchant keeps what it printed, minus OCR specks: stray marks on Latin letters ("Coffeę") and
    a bracket the line cut off ("Pick Coffee (Tsing Yi" → "... (Tsing Yi)")."""
    decomposed = unicodedata.normalize("NFD", name)
    kept = "".join(
        ch for i, ch in enumerate(decomposed)
        if not (unicodedata.combining(ch) and ord(ch) not in _KEPT_MARKS and i and decomposed[i - 1].isascii())
    )
    name = unicodedata.normalize("NFC", kept)
    for open_, close in (("(", ")"), ("（", "）")):
        if name.count(open_) == name.count(close) + 1 and re.search(rf"\{open_}[^{close}]+$", name):
            name += close
    return name


def apply_directory(
    receipt: ExtractedReceipt, lines: list[str], directory: VendorDirectory | None = None
) -> ExtractedReceipt:
    """The receipt with ``vendor`` canonicalised and ``vendor_read`` / ``vendor_id`` set."""
    directory = default_directory() if directory is None else directory
    read = receipt.vendor
    found: VendorMatch | None = directory.match(lines, read)
    if found is None:
        vendor = tidy_read_name(read) if read else None
        return receipt.model_copy(update={"vendor": vendor, "vendor_read": read, "vendor_id": None})
    confidence = dict(receipt.confidence)
    confidence["vendor"] = round(max(confidence.get("vendor", 0.0), CONFIRMED_CONFIDENCE * found.score), 3)
    return receipt.model_copy(update={
        "vendor": directory.canonical_name(found.vendor, lines, read),
        "vendor_read": read,
        "vendor_id": found.vendor.id,
        "confidence": confidence,
    })
