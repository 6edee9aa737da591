"""The same receipt claimed twice: the same file; the same vendor, date and total; the same vendor spelled another
way (繁/简/English, an OCR slip) on the same date for the same total; a receipt number already claimed at that
vendor; the same paper photographed again (a perceptual hash of the photo within `REPHOTO_DISTANCE` bits, and
nothing read off the two receipts saying they are two). Whose the earlier claim is (the claimant's own or a
colleague's) is said, and becomes the rule code (the re-photograph has its own code, `duplicate_rephotographed`).

Look-alikes that stay quiet: colleagues at one lunch each paying their share (different totals, or the same
total on receipts with different numbers), and the same taxi fare every month (different dates).
"""

from __future__ import annotations

from chalicelib.domain.anomaly.findings import Finding, Sighting, duplicate_code, where
from chalicelib.domain.anomaly.history import History, receipt_number
from chalicelib.domain.anomaly.records import SpendRecord, VendorResolver
from chalicelib.domain.anomaly.words import hk

#: Two receipt photos whose 64-bit perceptual hashes differ in at most this many bits may show the same paper
#: (bench/rephoto.py, tuned on seeds below 9000). Another receipt of the same layout can come this close: what was
#: read off the two (`contradicts`) tells them apart.
REPHOTO_DISTANCE = 18
#: Two readings of one paper's numbers (SimHash, 64 bits) differ in at most this many bits; further apart, the
#: receipts print other numbers: two receipts (bench/rephoto.py, simulated OCR slips; seeds below 9000).
TEXT_DISTANCE = 20
#: The 64-bit hash is looked up by eight 8-bit bands. Two hashes within REPHOTO_DISTANCE bits need not share a
#: band (only within 7 bits must they): bench/rephoto.py measures how many re-photographs do (96% on tuning seed 2;
#: 45% with four 16-bit bands), so the store's band lookup is a first pass and the history's comparison is
#: exhaustive.
BANDS = 8


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hashes written in hex."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def bands(image_hash: str) -> list[str]:
    """The hash's lookup keys: band i as "i:hh" (64 / BANDS bits each)."""
    width = len(image_hash) // BANDS
    return [f"{i}:{image_hash[i * width:(i + 1) * width]}" for i in range(BANDS)]


def contradicts(a: SpendRecord, b: SpendRecord) -> bool:
    """What was read of two receipts says they are two: both totals read and different, both dates read and
    different, both receipt numbers read and different, or the numbers they print far apart (`TEXT_DISTANCE`).
    What one of them lacks contradicts nothing."""
    if a.total is not None and b.total is not None and a.total.quantized() != b.total.quantized():
        return True
    if a.receipt_date is not None and b.receipt_date is not None and a.receipt_date != b.receipt_date:
        return True
    if a.text_hash and b.text_hash and hamming(a.text_hash, b.text_hash) > TEXT_DISTANCE:
        return True
    return different_numbers(a.receipt_no, b.receipt_no)


def different_numbers(a: str | None, b: str | None) -> bool:
    """Both receipts print a number and the numbers differ: two receipts, however alike otherwise."""
    na, nb = receipt_number(a), receipt_number(b)
    return na is not None and nb is not None and na != nb


def sightings(rows: list[SpendRecord], record: SpendRecord) -> list[Sighting]:
    return [Sighting(r.expense_id, r.claim_id, r.employee_id, r.receipt_no) for r in rows
            if r.expense_id != record.expense_id]


def exact(record: SpendRecord, same_file: list[Sighting], same_content: list[Sighting]) -> tuple[list[Finding],
                                                                                                   set[str]]:
    """Same file bytes, or same folded vendor + date + total; the expenses already reported, for the next rules."""
    found: list[Finding] = []
    earlier_file = [s for s in same_file if s.expense_id != record.expense_id]
    if earlier_file:
        en, zh = where(earlier_file, record.claim_id, record.employee_id)
        found.append(Finding(0.95, f"duplicate: same receipt file as in {en} / 重複：與{zh}中的收據為同一檔案",
                             duplicate_code(earlier_file, record.employee_id)))
    reported = {s.expense_id for s in earlier_file}
    earlier_content = [s for s in same_content if s.expense_id != record.expense_id and s.expense_id not in reported
                       and not different_numbers(record.receipt_no, s.receipt_no)]
    if earlier_content:
        en, zh = where(earlier_content, record.claim_id, record.employee_id)
        found.append(Finding(0.9, f"duplicate: same vendor, date and total as in {en} / "
                                  f"重複：商戶、日期及金額與{zh}相同",
                             duplicate_code(earlier_content, record.employee_id)))
    return found, reported | {s.expense_id for s in earlier_content}


def respelled(record: SpendRecord, candidates: list[SpendRecord], vendors: VendorResolver,
              reported: set[str]) -> list[Finding]:
    """Same date and total, the vendor written differently but the same merchant."""
    if record.total is None or not record.vendor:
        return []
    same = [r for r in candidates
            if r.expense_id != record.expense_id and r.expense_id not in reported and r.total == record.total
            and r.dedupe != record.dedupe and not different_numbers(record.receipt_no, r.receipt_no)
            and vendors.same_vendor(record.vendor, r.vendor)]
    if not same:
        return []
    found = sightings(same, record)
    reported.update(s.expense_id for s in found)
    en, zh = where(found, record.claim_id, record.employee_id)
    other = same[0].vendor
    amount = hk(record.total_hkd)
    en_text = f"duplicate: the same receipt ({amount} on {record.receipt_date}) as in {en}, the vendor written there " \
        f"as “{other}”"
    zh_text = f"重複：與{zh}為同一收據（{record.receipt_date}，{amount}），商戶在該處寫作「{other}」"
    return [Finding(0.9, f"{en_text} / {zh_text}", duplicate_code(found, record.employee_id))]


def receipt_no_reused(record: SpendRecord, history: History, claim_rows: History, vendors: VendorResolver,
                      reported: set[str]) -> list[Finding]:
    """A receipt number already claimed at the same vendor (on another date or for another amount)."""
    number = receipt_number(record.receipt_no)
    if number is None or not record.vendor:
        return []
    rows = [*history.with_receipt_no(number), *claim_rows.with_receipt_no(number)]
    same = [r for r in rows if r.expense_id != record.expense_id and r.expense_id not in reported
            and vendors.same_vendor(record.vendor, r.vendor)]
    if not same:
        return []
    found = sightings(same, record)
    reported.update(s.expense_id for s in found)
    en, zh = where(found, record.claim_id, record.employee_id)
    first = same[0]
    return [Finding(0.85, f"duplicate: receipt number {record.receipt_no} of {record.vendor} was already claimed in "
                          f"{en} ({hk(first.total_hkd)} on {first.receipt_date}) / 重複：{record.vendor} 收據編號 "
                          f"{record.receipt_no} 已於{zh}申報（{first.receipt_date}，{hk(first.total_hkd)}）",
                    "duplicate_receipt_no")]


def rephotographed(record: SpendRecord, candidates: list[SpendRecord], reported: set[str]) -> list[Finding]:
    """The same paper photographed again (another crop, tilt, light or phone): the photos' perceptual hashes within
    REPHOTO_DISTANCE bits, and neither the totals, the dates nor the receipt numbers read say they are two.
    Another receipt of the same layout (the same café, another day or amount) is told apart by what was read."""
    if not record.image_hash:
        return []
    same = [r for r in candidates
            if r.expense_id != record.expense_id and r.expense_id not in reported and r.image_hash
            and r.evidence_key != record.evidence_key and hamming(r.image_hash, record.image_hash) <= REPHOTO_DISTANCE
            and not contradicts(record, r)]
    if not same:
        return []
    same = list({r.expense_id: r for r in same}.values())
    found = sightings(same, record)
    reported.update(s.expense_id for s in found)
    en, zh = where(found, record.claim_id, record.employee_id)
    first = same[0]
    said = [x for x in (hk(first.total_hkd) if first.total_hkd is not None else None,
                        str(first.receipt_date) if first.receipt_date else None) if x]
    en_said = f" ({', '.join(said)}{', ' + first.vendor if first.vendor else ''})" if said or first.vendor else ""
    zh_said = f"（{'，'.join([*said, *([first.vendor] if first.vendor else [])])}）" if said or first.vendor else ""
    return [Finding(0.85, f"duplicate: a photo of the same paper receipt as in {en}{en_said}, taken again / "
                          f"重複：與{zh}{zh_said}為同一張收據再次拍攝", "duplicate_rephotographed")]
