"""Every call that takes personal data out of Hong Kong, in one place, with the legal basis relied on.

All data is stored and processed in ap-east-1 (HOME_REGION). Three AWS services the pipeline may use are not
offered there, so using them moves data across the border; nothing else may (infra/residency.py fails the package
step for a resource outside HOME_REGION, and chalicelib/config.py refuses to start there).

The legal basis. PDPO s.33 (the general prohibition on transfers outside Hong Kong) has never been brought into
force, so no transfer-specific ground is required by statute today. What does apply, and what each transfer below
relies on, is documented here:

* DPP1(3) and DPP3: the data is used for the purpose it was collected for (reimbursing and approving expenses),
  and the Personal Information Collection Statement shown at enrolment names each transfer and its destination;
  where a transfer is optional, it happens only on the data subject's or the employer's recorded opt-in.
* DPP2(3) and DPP4(2), with s.65(2): the processor (AWS) is bound by contract (the AWS Customer Agreement and its
  Data Processing Addendum) not to keep data longer than needed and to protect it; the company remains liable for
  it. As good practice the contract terms follow the PCPD's "Guidance on Recommended Model Contractual Clauses for
  Cross-border Transfer of Personal Data" (May 2022) should s.33 come into force.

Each transfer is logged when it happens (`log_transfer`): its kind, the regions and a size, never the content, the
address, the phone number or any identifier of a person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

HOME_REGION = "ap-east-1"  # Asia Pacific (Hong Kong): infra/resources.py REGION must equal it (a test checks)

CONTRACT = ("DPP2(3)/DPP4(2) + s.65(2): AWS as processor under the AWS Customer Agreement and Data Processing "
            "Addendum, terms aligned with the PCPD Recommended Model Contractual Clauses (2022)")


@dataclass(frozen=True)
class Transfer:
    """One kind of cross-border call: where it goes, what it carries, why it is lawful, how it is switched on."""

    kind: str
    service: str
    region_setting: str  # where the destination region is configured (stage setting or infra constant)
    data: tuple[str, ...]  # categories of personal data carried
    purpose: str
    legal_basis: str
    switched_on_by: str


TRANSFERS: dict[str, Transfer] = {t.kind: t for t in (
    Transfer(
        kind="ses-receiving",
        service="Amazon SES e-mail receiving (not offered in ap-east-1)",
        region_setting="infra/resources.py SES_RECEIVING_REGION",
        data=("the forwarded e-mail: sender address, headers, body and attached receipts",),
        purpose="receipts forwarded by e-mail; SES writes the raw message straight into the Hong Kong raw-mail "
                "bucket and stores nothing in its own region",
        legal_basis="DPP1(3)/DPP3: the employee chooses to e-mail a receipt, for the purpose of the claim, after "
                    "the collection statement names the route; " + CONTRACT,
        switched_on_by="deploying the ses-receiving stack and pointing the domain's MX record at it",
    ),
    Transfer(
        kind="sms",
        service="AWS End User Messaging SMS (pinpoint-sms-voice-v2; not offered in ap-east-1)",
        region_setting="TELEPHONY_REGION (stage environment)",
        data=("the approver's mobile number", "a claim summary and its approval link"),
        purpose="reminding an approver of a claim waiting for them",
        legal_basis="consent: the approver registers the number for reminders (DPP3 prescribed consent, "
                    "withdrawable by removing it); " + CONTRACT,
        switched_on_by="TELEPHONY=pinpoint on a deploy stage (the local stack uses an in-region outbox)",
    ),
    Transfer(
        kind="voice",
        service="AWS End User Messaging voice (pinpoint-sms-voice-v2; not offered in ap-east-1)",
        region_setting="TELEPHONY_REGION (stage environment)",
        data=("the approver's phone number", "a spoken claim summary"),
        purpose="the last reminder step before escalation",
        legal_basis="consent, as for SMS; " + CONTRACT,
        switched_on_by="TELEPHONY=pinpoint on a deploy stage",
    ),
    Transfer(
        kind="textract",
        service="Amazon Textract AnalyzeExpense (not offered in ap-east-1)",
        region_setting="TEXTRACT_REGION (stage environment)",
        data=("the receipt image: vendor, amounts, sometimes a card's last digits or a name",),
        purpose="reading receipts when the company prefers Textract to the in-region OCR",
        legal_basis="contract: the employer opts in in writing and the collection statement names the "
                    "destination; DPP3 (same purpose); " + CONTRACT,
        switched_on_by="OCR_BACKEND=textract on a stage (off by default: the in-region OCR reads receipts)",
    ),
)}


class UnregisteredTransfer(ValueError):
    """A cross-border call that this register does not list: add it here, with its legal basis, first."""


def log_transfer(kind: str, destination_region: str, *, size_bytes: int | None = None, items: int = 1) -> dict:
    """Logs one cross-border transfer as a structured record (no personal data) and returns the record."""
    transfer = TRANSFERS.get(kind)
    if transfer is None:
        raise UnregisteredTransfer(f"{kind!r} is not in chalicelib/domain/transfers.py TRANSFERS")
    record = {"event": "cross_border_transfer", "transfer": kind, "from_region": HOME_REGION,
              "to_region": destination_region, "items": items, "legal_basis": transfer.legal_basis.split(":")[0]}
    if size_bytes is not None:
        record["bytes"] = size_bytes
    log.warning("cross-border transfer: %s from %s to %s", kind, HOME_REGION, destination_region, extra=record)
    return record
