"""Mask personal data in receipt text before it can reach a log line.

Why: receipts carry card numbers, phone numbers and sometimes an HKID (membership sign-ups, pharmacy slips).
Logs are kept longer and read by more people than claims, so anything logged goes through here first.
"""

from __future__ import annotations

import re

# HKID: one or two letters, six digits, check digit in brackets (A123456(7)); brackets sometimes OCR'd away.
_HKID = re.compile(r"\b[A-Z]{1,2}\s?\d{6}\s?(?:\(\s?[0-9A]\s?\)|[0-9A]\b)")
# A full payment card number: 13-19 digits, optionally grouped by spaces or dashes.
_CARD = re.compile(r"(?<![\d*])(?:\d[ -]?){12,18}\d(?![\d])")
# Phone numbers: +852 / 852 prefixed, or an 8-digit HK number starting 2,3,5,6,7,8,9 (grouped 4-4 or not), or
# a mainland 11-digit mobile.
_PHONE = re.compile(
    r"(?:(?:\+|00)?852[\s-]?)?(?<!\d)[235-9]\d{3}[\s-]?\d{4}(?!\d)|(?<!\d)1[3-9]\d{9}(?!\d)|\+\d{1,3}[\s-]?\d[\d\s-]{6,}\d"
)


def _mask_card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if not 13 <= len(digits) <= 19:
        return m.group(0)
    return "**** " + digits[-4:]


def mask_personal_data(text: str) -> str:
    """HKID → ``[HKID]``, full card numbers → ``**** 1234``, phone numbers → ``[PHONE]``."""
    if not text:
        return text
    out = _HKID.sub("[HKID]", text)
    out = _CARD.sub(_mask_card, out)
    out = _PHONE.sub("[PHONE]", out)
    return out
