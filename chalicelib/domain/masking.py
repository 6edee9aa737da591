"""Personal data as logs, notifications, exports and audit records may show it: enough to recognise, never enough
to use — unless the reader's role needs the value itself. `sees_in_full` is the one place that decides who sees
what; `scrub` masks the kinds a reader may not see wherever they appear in free text (a claim's title, a
reviewer's note, a receipt's printed text)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from chalicelib.domain.identity import Role


class Kind(StrEnum):
    HKID = "hkid"  # Hong Kong identity card number
    BANK_ACCOUNT = "bank_account"
    CARD = "card"  # payment card number (PAN)


# Who needs the value itself. Payroll and finance admins pay reimbursements into the account; nobody's work needs a
# full HKID or card number from this system (PDPO DPP1 data minimisation; PCI DSS: a PAN is shown last 4 at most).
FULL_VIEW: dict[Kind, frozenset[Role]] = {
    Kind.HKID: frozenset(),
    Kind.BANK_ACCOUNT: frozenset({Role.PAYROLL, Role.FINANCE_ADMIN}),
    Kind.CARD: frozenset(),
}


def sees_in_full(roles: Iterable[Role], kind: Kind) -> bool:
    return bool(FULL_VIEW[kind] & frozenset(roles))


def mask_phone(phone: str) -> str:
    """+852 5123 0200 -> +852****00: the country and the last two digits, as a person checks a number."""
    digits = re.sub(r"\D", "", phone)
    return f"+{digits[:3]}****{digits[-2:]}" if len(digits) > 5 else "****"


def mask_hkid(hkid: str) -> str:
    """A123456(7) -> A1*****(*): the letter prefix and first digit, as a counter clerk reads it back."""
    m = _HKID.fullmatch(hkid.strip())
    if not m:
        return "****"
    return f"{m.group('letters')}{m.group('digits')[0]}*****(*)"


def mask_last4(number: str) -> str:
    """A card or bank account number -> ****1234: the last four digits only."""
    digits = re.sub(r"\D", "", number)
    return f"****{digits[-4:]}" if len(digits) >= 4 else "****"


# HKID: one or two letters, six digits, a check digit or A in brackets (brackets optional as people type it)
_HKID = re.compile(r"(?P<letters>[A-Z]{1,2})(?P<digits>\d{6})\s?\(?(?P<check>[0-9A])\)?")
_HKID_IN_TEXT = re.compile(r"(?<![\w-])[A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?(?![\w-])")
# a card number: 13-19 digits, in groups separated by spaces or hyphens, passing the Luhn check (never inside a
# longer word: a link's token or an id is left whole)
_CARD_IN_TEXT = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# a Hong Kong bank account as printed: bank code - branch code - account (e.g. 004-123-456789-001)
_ACCOUNT_IN_TEXT = re.compile(r"(?<![\w-])\d{3}-\d{3}-\d{3,9}(?:-\d{1,3})?(?![\w-])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return mask_last4(digits) if _luhn(digits) else m.group(0)


def scrub(text: str, roles: Iterable[Role]) -> str:
    """`text` with every HKID, card and bank account number the reader may not see masked."""
    if not text:
        return text
    held = frozenset(roles)
    if not sees_in_full(held, Kind.HKID):
        text = _HKID_IN_TEXT.sub(lambda m: mask_hkid(m.group(0)), text)
    if not sees_in_full(held, Kind.BANK_ACCOUNT):
        text = _ACCOUNT_IN_TEXT.sub(lambda m: mask_last4(m.group(0)), text)
    if not sees_in_full(held, Kind.CARD):
        text = _CARD_IN_TEXT.sub(_card, text)
    return text


def scrub_all(value: object, roles: Iterable[Role]) -> object:
    """`scrub` over every string of a JSON-shaped value (a claim as exported), keys left alone."""
    held = frozenset(roles)
    if isinstance(value, str):
        return scrub(value, held)
    if isinstance(value, dict):
        return {k: scrub_all(v, held) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_all(v, held) for v in value]
    return value
