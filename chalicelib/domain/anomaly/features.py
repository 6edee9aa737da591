"""What the per-company model sees of one expense row: a short vector of numbers, each with a meaning a person can
be told (`chalicelib.domain.anomaly.explain` turns the unusual ones into words). Pure: no scikit-learn, no boto3.

A row is compared with two things: the company's norms at training time (`CompanyNorms`: per-category medians,
how often each vendor was used) and the employee's own earlier rows (`History.by_employee` when scoring; the
employee's other training rows when training). Money stays Decimal everywhere else; it becomes a float only here,
inside the vector, and never goes back into money.

The features (one line each; the order is the vector's):
- ``amount_vs_employee``: log of the HKD amount over this employee's median for the same kind of spend (lunch,
  dinner, taxi, ...), the company's median when the employee has fewer than `MIN_OWN` such rows;
- ``amount_vs_company``: log of the HKD amount over the company's median for the same kind of spend;
- ``amount_vs_vendor``: log of the HKD amount over the company's median at this vendor (0 when the company has
  fewer than `MIN_OWN` rows there): a fast-food lunch at five times its price stands out even where a
  category's amounts spread widely;
- ``per_head_vs_company``: log of the amount per attendee over the company's median per head for the category;
- ``attendees``: log of the number of people the bill was for (1 when not said);
- ``vendor_rarity``: -log(1 + times the company claimed at this vendor before), so a vendor never seen scores 0
  and a common one a large negative number;
- ``new_vendor_for_employee``: 1 when this employee never claimed at this vendor before, else 0;
- ``hour_sin`` / ``hour_cos``: the receipt's local time of day on a circle (23:30 is next to 00:30); both 0
  when the receipt shows no time;
- ``weekday_sin`` / ``weekday_cos``: the day of the week on a circle;
- ``lag_days``: log(1 + days between the receipt date and the submission);
- ``distance_km``: log(1 + km from the nearest place this employee usually spends in, district or city), 0 when
  the place or the employee's usual places are unknown (a same-city flag would say less: see `PLACES`);
- ``hour_unusual``: how far (in hours, on the clock) the receipt time is from the nearest hour this employee
  spent at before in this kind of spend (0 when unknown).
"""

from __future__ import annotations

import math
from bisect import insort
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal

from chalicelib.domain.anomaly.records import SpendRecord
from chalicelib.domain.vendors import key, strip_branch

FEATURES = ("amount_vs_employee", "amount_vs_company", "amount_vs_vendor", "per_head_vs_company", "attendees",
            "vendor_rarity",
            "new_vendor_for_employee", "hour_sin", "hour_cos", "weekday_sin", "weekday_cos", "lag_days",
            "distance_km", "hour_unusual")
#: An employee needs this many earlier rows of a kind of spend before their own median is their norm.
MIN_OWN = 3
CENT = Decimal("0.01")
#: A place is one of the employee's usual ones once they spent there this many times.
USUAL_PLACE_VISITS = 2

#: Approximate centres (latitude, longitude) of the places receipts name: Hong Kong districts and the cities
#: people travel to. Unknown names give no distance (0), never a guess.
PLACES: dict[str, tuple[float, float]] = {
    "Central": (22.2820, 114.1588), "Sheung Wan": (22.2866, 114.1508), "Admiralty": (22.2793, 114.1655),
    "Wan Chai": (22.2776, 114.1722), "Causeway Bay": (22.2803, 114.1849), "Quarry Bay": (22.2881, 114.2133),
    "Kwun Tong": (22.3123, 114.2255), "Kowloon Bay": (22.3235, 114.2141), "Tsim Sha Tsui": (22.2988, 114.1722),
    "Mong Kok": (22.3193, 114.1694), "Sha Tin": (22.3813, 114.1887), "Tsuen Wan": (22.3707, 114.1141),
    "Tuen Mun": (22.3916, 113.9771), "Yuen Long": (22.4445, 114.0222), "Tung Chung": (22.2890, 113.9415),
    "Hong Kong": (22.3027, 114.1772), "Shenzhen": (22.5431, 114.0579), "Shanghai": (31.2304, 121.4737),
    "Beijing": (39.9042, 116.4074), "Singapore": (1.3521, 103.8198), "Tokyo": (35.6762, 139.6503),
    "Taipei": (25.0330, 121.5654), "Macau": (22.1987, 113.5439),
}


def slot(row: SpendRecord) -> str:
    """The kind of spend a norm is kept for: the category, meals split into lunch and dinner by the receipt time."""
    if row.category == "meals" and row.receipt_time is not None:
        return "meals:dinner" if row.receipt_time.hour >= 17 else "meals:lunch"
    return row.category


def vendor_key(name: str | None) -> str:
    """The printed name folded (case, width, spaces, branch): how vendor counts are kept."""
    return key(strip_branch(name)) if name else ""


def place(row: SpendRecord) -> str | None:
    """Where the money was spent: the district in Hong Kong, else the city."""
    if row.district and (row.city in (None, "Hong Kong")):
        return row.district
    return row.city


def _median(values: Sequence[Decimal]) -> Decimal | None:
    """The median of sorted HKD amounts, in Decimal (money stays money; only ratios become floats)."""
    n = len(values)
    if not n:
        return None
    mid = n // 2
    return values[mid] if n % 2 else ((values[mid - 1] + values[mid]) / 2).quantize(CENT)


def _positive(amount: Decimal | None) -> Decimal | None:
    return amount if amount is not None and amount > 0 else None


def _log_ratio(amount: Decimal | None, usual: Decimal | None) -> float:
    """log(amount / usual), the ratio taken in Decimal; 0 when either is unknown."""
    return math.log(float(amount / usual)) if amount is not None and usual else 0.0


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _hour(at: time | None) -> float | None:
    return at.hour + at.minute / 60 if at is not None else None


def _clock_gap(a: float, b: float) -> float:
    d = abs(a - b) % 24
    return min(d, 24 - d)


@dataclass
class CompanyNorms:
    """The company's norms, from its training rows; stored inside the model artefact (vendor names, no people)."""

    slot_median: dict[str, Decimal] = field(default_factory=dict)  # HKD
    category_median: dict[str, Decimal] = field(default_factory=dict)
    per_head_median: dict[str, Decimal] = field(default_factory=dict)  # by category
    vendor_counts: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    vendor_median: dict[str, Decimal] = field(default_factory=dict)  # vendors with MIN_OWN rows or more

    @classmethod
    def of(cls, rows: Iterable[SpendRecord]) -> CompanyNorms:
        by_slot, by_cat, per_head = defaultdict(list), defaultdict(list), defaultdict(list)
        vendors: Counter[str] = Counter()
        at_vendor = defaultdict(list)
        n = 0
        for r in rows:
            n += 1
            if (v := _positive(r.total_hkd)) is not None:
                by_slot[slot(r)].append(v)
                by_cat[r.category].append(v)
            if (h := _positive(r.per_head_hkd)) is not None:
                per_head[r.category].append(h)
            if r.vendor:
                vendors[vendor_key(r.vendor)] += 1
                if (v := _positive(r.total_hkd)) is not None:
                    at_vendor[vendor_key(r.vendor)].append(v)
        med = {k: _median(sorted(v)) for k, v in by_slot.items()}
        return cls({k: v for k, v in med.items() if v is not None},
                   {k: _median(sorted(v)) for k, v in by_cat.items()},
                   {k: _median(sorted(v)) for k, v in per_head.items()}, dict(vendors), n,
                   {k: _median(sorted(v)) for k, v in at_vendor.items() if len(v) >= MIN_OWN})

    def usual(self, row: SpendRecord) -> Decimal | None:
        return self.slot_median.get(slot(row), self.category_median.get(row.category))

    _MONEY = ("slot_median", "category_median", "per_head_median", "vendor_median")

    def to_json(self) -> dict:
        body = {name: {k: str(v) for k, v in getattr(self, name).items()} for name in self._MONEY}
        return {**body, "vendor_counts": self.vendor_counts, "rows": self.rows}

    @classmethod
    def from_json(cls, body: dict) -> CompanyNorms:
        money = {name: {k: Decimal(v) for k, v in body[name].items()} for name in cls._MONEY}
        return cls(**money, vendor_counts=body["vendor_counts"], rows=body["rows"])


class EmployeeNorms:
    """One employee's earlier rows, indexed for the features (built once per employee per claim)."""

    def __init__(self, rows: Iterable[SpendRecord]) -> None:
        self.by_slot: dict[str, list[Decimal]] = defaultdict(list)  # sorted HKD amounts
        self.vendors: Counter[str] = Counter()
        self.places: Counter[str] = Counter()
        self.hours: dict[str, list[float]] = defaultdict(list)
        for r in rows:
            self.add(r)

    def add(self, r: SpendRecord) -> None:
        if (v := _positive(r.total_hkd)) is not None:
            insort(self.by_slot[slot(r)], v)
        if r.vendor:
            self.vendors[vendor_key(r.vendor)] += 1
        if (p := place(r)) is not None:
            self.places[p] += 1
        if (h := _hour(r.receipt_time)) is not None:
            self.hours[r.category].append(h)

    def remove(self, r: SpendRecord) -> None:
        """Leave-one-out while training: the row itself is not its own norm."""
        if (v := _positive(r.total_hkd)) is not None:
            self.by_slot[slot(r)].remove(v)
        if r.vendor:
            self.vendors[vendor_key(r.vendor)] -= 1
        if (p := place(r)) is not None:
            self.places[p] -= 1
        if (h := _hour(r.receipt_time)) is not None:
            self.hours[r.category].remove(h)

    def usual(self, row: SpendRecord) -> Decimal | None:
        own = self.by_slot.get(slot(row), [])
        return _median(own) if len(own) >= MIN_OWN else None

    def usual_places(self) -> list[str]:
        return [p for p, n in self.places.items() if n >= USUAL_PLACE_VISITS]


@dataclass(frozen=True)
class Explained:
    """The numbers behind a vector, for the explanation: the row's amount and the norms it was compared with."""

    employee_usual_hkd: Decimal | None  # the employee's median for this kind of spend
    company_usual_hkd: Decimal | None
    company_per_head_hkd: Decimal | None
    vendor_usual_hkd: Decimal | None
    vendor_seen: int
    employee_vendor_seen: int
    usual_places: tuple[str, ...]
    nearest_km: float | None
    nearest_usual_hour: float | None
    lag_days: int | None


def vector(row: SpendRecord, own: EmployeeNorms, company: CompanyNorms, in_company: bool = False
           ) -> tuple[list[float], Explained]:
    """The row's features (in `FEATURES` order) and the numbers behind them. `in_company`: the row is one of the
    rows `company` was built from (training), so its own vendor visit is not counted."""
    amount = _positive(row.total_hkd)
    company_usual = company.usual(row)
    own_usual = own.usual(row)
    employee_usual = own_usual if own_usual is not None else company_usual
    vs_employee = _log_ratio(amount, employee_usual)
    vs_company = _log_ratio(amount, company_usual)
    vkey = vendor_key(row.vendor)
    vendor_usual = company.vendor_median.get(vkey) if vkey else None
    vs_vendor = _log_ratio(amount, vendor_usual)
    head_usual = company.per_head_median.get(row.category)
    per_head = _log_ratio(_positive(row.per_head_hkd), head_usual)
    heads = math.log(max(1, row.attendees or 1))
    seen = max(0, company.vendor_counts.get(vkey, 0) - (1 if in_company else 0)) if vkey else 0
    own_seen = own.vendors.get(vkey, 0) if vkey else 0
    hour = _hour(row.receipt_time)
    hs, hc = (math.sin(2 * math.pi * hour / 24), math.cos(2 * math.pi * hour / 24)) if hour is not None else (0.0, 0.0)
    if row.receipt_date is not None:
        wd = row.receipt_date.weekday()
        ws, wc = math.sin(2 * math.pi * wd / 7), math.cos(2 * math.pi * wd / 7)
        lag = max(0, (row.submitted_at.date() - row.receipt_date).days)
    else:
        ws = wc = 0.0
        lag = None
    usual = own.usual_places()
    here = place(row)
    km = None
    if here in PLACES and usual:
        known = [PLACES[p] for p in usual if p in PLACES]
        km = min(_km(PLACES[here], p) for p in known) if known else None
    hours = own.hours.get(row.category, [])
    nearest_hour = min(hours, key=lambda h: _clock_gap(h, hour)) if hour is not None and len(hours) >= MIN_OWN \
        else None
    gap = _clock_gap(nearest_hour, hour) if nearest_hour is not None else 0.0
    values = [vs_employee, vs_company, vs_vendor, per_head, heads, -math.log1p(seen), 0.0 if own_seen else 1.0,
              hs, hc, ws, wc, math.log1p(lag) if lag is not None else 0.0,
              math.log1p(km) if km is not None else 0.0, gap]
    return values, Explained(own_usual, company_usual, head_usual, vendor_usual, seen, own_seen, tuple(usual), km,
                             nearest_hour, lag)


def training_vectors(rows: list[SpendRecord], company: CompanyNorms) -> list[list[float]]:
    """Every training row against the company's norms and its employee's *other* rows (leave-one-out)."""
    by_employee: dict[str, list[SpendRecord]] = defaultdict(list)
    for r in rows:
        by_employee[r.employee_id].append(r)
    norms = {e: EmployeeNorms(rs) for e, rs in by_employee.items()}
    out = []
    for r in rows:
        own = norms[r.employee_id]
        own.remove(r)
        out.append(vector(r, own, company, in_company=True)[0])
        own.add(r)
    return out
