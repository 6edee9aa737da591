"""Personal data as logs and audit records may show it: enough to recognise, never enough to use."""

from __future__ import annotations

import re


def mask_phone(phone: str) -> str:
    """+852 5123 0200 -> +852****00: the country and the last two digits, as a person checks a number."""
    digits = re.sub(r"\D", "", phone)
    return f"+{digits[:3]}****{digits[-2:]}" if len(digits) > 5 else "****"
