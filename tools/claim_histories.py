"""Labelled claim histories for the anomaly rules (and, later, a per-company model): several Hong Kong companies, a
year of claims each, with injected anomalies labelled by type and normal look-alikes that must stay quiet.

``python -m tools.claim_histories --seed N --out DIR`` writes ``companies.json`` and one ``CLAIMS-<company>.jsonl``
per company (one claim a line, in submission order, its rows and labels). ``generate(seed)`` returns the same in
memory; the same seed always gives the same histories.

What is modelled, and why: employees with rank, department, cost centre and usual districts; routine spend
(lunches, taxis, supplies) bundled into a month-end claim; client entertainment (more in December, less in the
Chinese New Year week); business trips (flight, hotel in the destination's currency, local taxis and meals) claimed
after the return. Amounts are HKD-realistic Decimals with a 10% service charge on restaurant bills, taxi fares in
half dollars; receipts carry a number (a taxi's: plate and time). Vendors are the shipped directory's (printed
in 繁, 简 or English) plus first-time ones; finance marks some as approved suppliers per company.

Anomalies (label = type): duplicate_respelled (re-submitted by the same person, vendor written another way),
duplicate_colleague (the same receipt claimed by a colleague), duplicate_receipt_no (a receipt number already
claimed at that vendor), over_limit (meals per head over the rank's limit), over_budget (cost centre past its
monthly budget), non_partner (a category with approved suppliers, another vendor), threshold_split (the later
pieces of spend cut just under an approval threshold, by one person or by colleagues on one trip; the first piece
is labelled threshold_split_opening and left out of both scores, as nothing can be seen beside it yet),
weekend_holiday (where policy forbids it), stale_receipt, round_amount, night_taxi (3 a.m. on a working day in a
city where the claimant has a hotel bill). For the model (`MODEL_ANOMALIES`, 4 × per_type of each a company, all
year): amount_outlier (a lunch, dinner, taxi or supplies at 4-10× this company's usual for that kind, one row in an
otherwise ordinary month-end claim or a claim of its own) and vendor_outlier (a vendor nobody here has used, between
01:00 and 04:59, far from the claimant's usual districts, at 2-4× the usual amount). Look-alikes (no label,
`lookalike` names them): lunch_share, monthly_taxi, first_time_vendor, executive_claim.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

from chalicelib.domain.anomaly import SpendRecord
from chalicelib.domain.directory import Department, Employee
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy
from chalicelib.domain.vendors import Vendor, VendorDirectory, seed_directory

HK = ZoneInfo("Asia/Hong_Kong")
YEAR = 2025
CENT = Decimal("0.01")
ANOMALIES = ("duplicate_respelled", "duplicate_colleague", "duplicate_receipt_no", "over_limit", "over_budget",
             "non_partner", "threshold_split", "weekend_holiday", "stale_receipt", "round_amount", "night_taxi")
OPENING = "threshold_split_opening"
#: What only the per-company model is for (no rule looks for them): an ordinary kind of spend at several times what
#: the company usually pays for it, and a vendor nobody here uses at an hour and place the claimant never spends.
#: Left out of the rules' scores (neither a rule's case nor a normal claim); the model's ROC AUC is measured on them.
MODEL_ANOMALIES = ("amount_outlier", "vendor_outlier")
LOOKALIKES = ("lunch_share", "monthly_taxi", "first_time_vendor", "executive_claim")
DISTRICTS = ("Central", "Wan Chai", "Admiralty", "Causeway Bay", "Quarry Bay", "Kwun Tong", "Tsim Sha Tsui",
             "Mong Kok", "Sha Tin", "Kowloon Bay", "Sheung Wan", "Tsuen Wan")
#: destination -> (currency, HKD-ish nightly hotel range in that currency, local taxi fare range)
CITIES = {"Shanghai": ("CNY", (700, 1900), (20, 140)), "Shenzhen": ("CNY", (450, 1200), (15, 90)),
          "Beijing": ("CNY", (650, 1800), (25, 150)), "Singapore": ("SGD", (180, 420), (12, 45)),
          "Tokyo": ("JPY", (16000, 42000), (1500, 7000)), "Taipei": ("TWD", (3200, 8800), (150, 700))}
HOTELS = ("shangri-la", "marriott", "hyatt", "sheraton", "holiday-inn", "novotel", "ibis", "four-seasons")
AIRLINES = ("cathay-pacific", "hk-express", "hong-kong-airlines", "greater-bay-airlines")
LOCAL_TRANSPORT = ("mtr", "citybus", "star-ferry", "kmb")
SUPPLIES = ("fortress", "broadway", "commercial-press", "japan-home-centre", "muji", "seven-eleven", "circle-k",
            "sf-express", "hongkong-post", "ikea", "apple-store", "pricerite")
ENTERTAINMENT_VENUES = ("maxims-palace", "tao-heung", "tsui-wah", "tai-hing")
#: per-head limits by rank (1 staff .. 5 executive), HKD
MEAL_LIMITS = {1: Decimal("300"), 2: Decimal("400"), 3: Decimal("600"), 4: Decimal("1000"), 5: Decimal("2500")}
ENTERTAINMENT_LIMITS = {1: Decimal("500"), 2: Decimal("600"), 3: Decimal("900"), 4: Decimal("1500"),
                        5: Decimal("3000")}
_NEW_VENDOR_A = ("新", "祥", "記", "興", "利", "發", "華", "昌", "德", "福", "金", "榮")
_NEW_VENDOR_B = ("茶餐廳", "冰室", "小館", "粥麵", "燒臘", "文具", "印刷")
_NEW_VENDOR_EN = {"茶餐廳": "Cafe", "冰室": "Ice Room", "小館": "Bistro", "粥麵": "Congee & Noodle",
                  "燒臘": "BBQ", "文具": "Stationery", "印刷": "Printing"}


@dataclass
class Person:
    employee: Employee
    cost_centre: str
    districts: list[str]
    commute_fare: Decimal | None = None  # a monthly taxi of the same fare (a look-alike)


@dataclass
class Company:
    name: str
    policy: Policy
    vendors: VendorDirectory
    departments: list[Department]
    people: list[Person]

    def partner_ids(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for v in self.vendors.vendors:
            for c in v.partner_for:
                out[c].append(v.id)
        return dict(out)


@dataclass
class LabelledClaim:
    company: str
    claim_id: str
    employee_id: str
    submitted_at: datetime
    rows: list[SpendRecord]
    labels: set[str] = field(default_factory=set)
    lookalike: str | None = None
    odd_rows: list[str] = field(default_factory=list)  # MODEL_ANOMALIES: the injected row(s), among ordinary ones

    @property
    def normal(self) -> bool:
        return not self.labels


@dataclass
class Histories:
    seed: int
    companies: list[Company]
    claims: dict[str, list[LabelledClaim]]  # company -> claims in submission order


def _money(value: float | Decimal, step: Decimal = CENT) -> Decimal:
    return (Decimal(str(value)) / step).quantize(Decimal("1")) * step


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.directory = seed_directory()
        self.hk_holidays = holidays.country_holidays("HK", years=[YEAR, YEAR + 1])
        self._numbers: set[str] = set()
        self._count = 0

    # --- small helpers -------------------------------------------------------------------------------------------
    def vendor(self, vendor_id: str) -> Vendor:
        found = self.directory.get(vendor_id)
        assert found is not None, vendor_id
        return found

    def printed(self, vendor: Vendor, avoid: str | None = None) -> str:
        """A name as a receipt prints it: 繁, English or both (a chain's usual forms)."""
        forms = [n for n in (vendor.names.get("zh-Hant"), vendor.names.get("en"), vendor.conventional_name()) if n]
        forms = [f for f in dict.fromkeys(forms) if f != avoid] or forms
        return self.rng.choice(forms)

    def respelled(self, vendor: Vendor, printed: str, ocr_ok: bool = True) -> str:
        """The same vendor written another way: the other script (简 or English) or an OCR slip."""
        options = [n for n in (vendor.names.get("zh-Hans"), vendor.names.get("en"), vendor.names.get("zh-Hant"))
                   if n and _fold_key(n) != _fold_key(printed)]
        en = vendor.names.get("en")
        if ocr_ok and en and len(en) >= 8:
            i = self.rng.randrange(2, len(en) - 1)
            slip = en[:i] + en[i + 1:] if en[i].isalpha() else en[:i] + "l" + en[i + 1:]
            if _fold_key(slip) != _fold_key(printed):
                options.append(slip)
        return self.rng.choice(options)

    def number(self, prefix: str = "") -> str:
        while True:
            n = f"{prefix}{self.rng.randrange(10**5, 10**8)}"
            if n not in self._numbers:
                self._numbers.add(n)
                return n

    def taxi_number(self, day: date, at: time) -> str:
        plate = f"{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}" \
                f"{self.rng.randrange(100, 9999)}"
        return self.number(f"{plate}-{day:%m%d}{at:%H%M}-")

    def evidence(self) -> str:
        self._count += 1
        return hashlib.sha256(f"{self.seed}-{self._count}".encode()).hexdigest()

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.hk_holidays

    def workdays(self, year: int, month: int) -> list[date]:
        first = date(year, month, 1)
        days = [first + timedelta(days=i) for i in range(31)]
        return [d for d in days if d.month == month and self.is_workday(d)]

    def off_days(self, year: int, month: int) -> list[date]:
        first = date(year, month, 1)
        days = [first + timedelta(days=i) for i in range(31)]
        return [d for d in days if d.month == month and not self.is_workday(d)]

    def clock(self, lo: float, hi: float) -> time:
        minutes = self.rng.randrange(int(lo * 60), int(hi * 60))
        return time(minutes // 60 % 24, minutes % 60)

    def submit_at(self, day: date, lo: float = 9, hi: float = 19) -> datetime:
        local = datetime.combine(day, self.clock(lo, hi), HK)
        return local.astimezone(UTC)

    # --- companies ------------------------------------------------------------------------------------------------
    def company(self, index: int) -> Company:
        name = f"co{index + 1}"
        rng = self.rng
        names = ("SALES", "OPS", "FIN", "TECH", "MKT")[: rng.randint(3, 5)]
        departments, people = [], []
        exec_id = f"{name}-E000"
        for d in (*names, "EXEC"):
            cc = f"CC-{name.upper()}-{d}"
            head = f"{name}-{d}-H"
            departments.append(Department(department_id=f"{name}-{d}", name=d.title(), office_id="HK", head_id=head,
                                          cost_centre=cc, finance_controller_id=exec_id))
            staff = 1 if d == "EXEC" else rng.randint(6, 11)
            for i in range(staff):
                rank = 5 if d == "EXEC" else (4 if i == 0 else rng.choices((1, 2, 3), (4, 4, 2))[0])
                eid = exec_id if d == "EXEC" else (head if i == 0 else f"{name}-{d}-{i:02d}")
                emp = Employee(employee_id=eid, name=f"{d.title()} {i}", email=f"{eid.lower()}@{name}.example",
                               department_id=f"{name}-{d}", rank=rank, manager_id=None if d == "EXEC" else head)
                commute = _money(rng.uniform(70, 190), Decimal("0.5")) if rng.random() < 0.12 else None
                people.append(Person(emp, cc, rng.sample(DISTRICTS, 3), commute))
        partners: list[Vendor] = []
        if index % 3 != 2:  # two companies in three name approved venues for client entertainment
            for vid in ENTERTAINMENT_VENUES:
                v = self.vendor(vid)
                partners.append(v.model_copy(update={"partner_for": ("entertainment",), "source": "finance"}))
        if index % 3 == 0:  # and one runs its taxis through an account with two app operators
            for vid in ("fly-taxi", "uber"):
                partners.append(self.vendor(vid).model_copy(update={"partner_for": ("taxi",), "source": "finance"}))
        policy = Policy(company=name, category_limits_by_rank_hkd={"meals": MEAL_LIMITS,
                                                                    "entertainment": ENTERTAINMENT_LIMITS},
                        forbid_weekend_holiday_spend=index % 3 != 1)
        return Company(name, policy, self.directory.with_entries(partners), departments, people)


def _fold_key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


@dataclass
class _Draft:
    """A row before its claim is known."""

    category: str
    vendor: str
    day: date
    at: time | None
    amount: Decimal
    currency: str = "HKD"
    attendees: int | None = None
    receipt_no: str | None = None
    city: str = "Hong Kong"
    district: str | None = None
    evidence: str | None = None


class _CompanyHistory:
    """One company's year: normal claims first, then the injected anomalies and look-alikes."""

    def __init__(self, gen: _Generator, company: Company) -> None:
        self.g, self.c, self.rng = gen, company, gen.rng
        self.claims: list[LabelledClaim] = []
        self.by_id = {p.employee.employee_id: p for p in company.people}
        self.partners = company.partner_ids()
        self.forbid = company.policy.forbid_weekend_holiday_spend
        self._used: set[str] = set()

    # --- claims -----------------------------------------------------------------------------------------------
    def claim(self, person: Person, submitted: datetime, drafts: list[_Draft], labels: set[str] | None = None,
              lookalike: str | None = None) -> LabelledClaim:
        claim_id = f"c-{self.c.name}-{len(self.claims) + 1:05d}"
        emp = person.employee
        rows = []
        for i, d in enumerate(drafts):
            money = Money.of(d.amount, d.currency)
            rows.append(SpendRecord(
                expense_id=f"e-{claim_id[2:]}-{i}", claim_id=claim_id, employee_id=emp.employee_id,
                submitted_at=submitted, category=d.category, department_id=emp.department_id,
                cost_centre=person.cost_centre, rank=emp.rank, vendor=d.vendor, receipt_date=d.day,
                receipt_time=d.at, total=money, total_hkd=self.c.policy.fx.to_hkd(money).amount,
                attendees=d.attendees, receipt_no=d.receipt_no, evidence_key=d.evidence or self.g.evidence(),
                city=d.city, district=d.district))
        made = LabelledClaim(self.c.name, claim_id, emp.employee_id, submitted, rows, labels or set(), lookalike)
        self.claims.append(made)
        return made

    def spend_days(self, month: int) -> list[date]:
        days = self.g.workdays(YEAR, month)
        if not self.forbid and self.rng.random() < 0.15:
            days = days + self.g.off_days(YEAR, month)[:2]
        cny = [d for d in self.g.hk_holidays if d.year == YEAR and "Chinese New Year" in self.g.hk_holidays.get(d)]
        if cny:  # the week around Chinese New Year is quiet
            first = min(cny)
            days = [d for d in days if not (first - timedelta(days=2) <= d <= first + timedelta(days=5))] or days
        return days

    # --- what people spend ----------------------------------------------------------------------------------------
    def meal(self, person: Person, day: date, heads: int | None = None, vendor: Vendor | None = None,
             per_head_cap: Decimal | None = None) -> _Draft:
        rng = self.rng
        heads = heads or rng.choices((1, 2, 3, 4, 6), (5, 3, 2, 1, 1))[0]
        vendor = vendor or self.g.vendor(rng.choice(_MEALS))
        cap = per_head_cap or MEAL_LIMITS[person.employee.rank] * Decimal("0.8")
        per_head = Decimal(str(rng.uniform(48, min(float(cap), 220 + 60 * person.employee.rank))))
        total = _money(per_head * heads * Decimal("1.1"), Decimal("0.1"))
        if total >= 1000 and total % 100 == 0:
            total += Decimal("3.3")
        lunch = rng.random() < 0.7
        return _Draft("meals", self.g.printed(vendor), day, self.g.clock(12, 14.5) if lunch else self.g.clock(19, 22),
                      total, attendees=heads if heads > 1 else None, receipt_no=self.g.number(),
                      district=rng.choice(person.districts))

    def taxi(self, person: Person, day: date, fare: Decimal | None = None, at: time | None = None,
             city: str = "Hong Kong", currency: str = "HKD") -> _Draft:
        rng = self.rng
        taxi_partners = self.partners.get("taxi")
        vendor = self.g.vendor(rng.choice(taxi_partners)) if taxi_partners else self.g.vendor("taxi")
        at = at or self.g.clock(8, 23.5)
        fare = fare if fare is not None else _money(rng.uniform(45, 320), Decimal("0.5"))
        return _Draft("taxi", self.g.printed(vendor), day, at, fare, currency=currency,
                      receipt_no=self.g.taxi_number(day, at), city=city,
                      district=rng.choice(person.districts) if city == "Hong Kong" else None)

    def supplies(self, person: Person, day: date) -> _Draft:
        rng = self.rng
        vendor = self.g.vendor(rng.choice(SUPPLIES))
        total = _money(rng.uniform(25, 780))
        return _Draft("general", self.g.printed(vendor), day, self.g.clock(10, 19), total,
                      receipt_no=self.g.number() if rng.random() < 0.95 else None,
                      district=rng.choice(person.districts))

    def entertainment(self, person: Person, day: date, venue: Vendor | None = None) -> _Draft:
        rng = self.rng
        venues = self.partners.get("entertainment") or list(ENTERTAINMENT_VENUES) + ["maxims", "tsui-wah"]
        venue = venue or self.g.vendor(rng.choice(venues))
        heads = rng.randint(2, 8)
        cap = float(ENTERTAINMENT_LIMITS[person.employee.rank] * Decimal("0.8"))
        per_head = Decimal(str(rng.uniform(min(180, cap * 0.6), cap)))
        total = _money(per_head * heads * Decimal("1.1"), Decimal("0.1"))
        if total % 100 == 0:
            total += Decimal("7.7")
        return _Draft("entertainment", self.g.printed(venue), day, self.g.clock(19, 22.5), total, attendees=heads,
                      receipt_no=self.g.number(), district=rng.choice(person.districts))

    def trip(self, person: Person, start: date, nights: int, city: str, hotel: Vendor | None = None,
             night_taxi: bool = False) -> list[_Draft]:
        rng = self.rng
        currency, (lo, hi), (tlo, thi) = CITIES[city]
        airline = self.g.vendor(rng.choice(AIRLINES))
        flight = _money(rng.uniform(1600, 4200) * (1 + 0.4 * (person.employee.rank >= 4)))
        out = [_Draft("travel", self.g.printed(airline), start - timedelta(days=rng.randint(3, 20)),
                      self.g.clock(9, 20), flight, receipt_no=self.g.number("TKT"))]
        if rng.random() < 0.3:  # an early taxi to the airport in Hong Kong (the hotel is elsewhere: quiet)
            out.append(self.taxi(person, start, at=self.g.clock(4, 6) if rng.random() < 0.5 else None))
        hotel = hotel or self.g.vendor(rng.choice(HOTELS))
        nightly = rng.uniform(lo, hi)
        step = Decimal("1") if currency == "JPY" else CENT
        out.append(_Draft("travel", hotel_name(self.g.printed(hotel), city), start + timedelta(days=nights),
                          self.g.clock(7, 11), _money(nightly * nights * 1.15, step), currency=currency,
                          receipt_no=self.g.number("F"), city=city))
        stay = [start + timedelta(days=i) for i in range(nights + 1)]
        stay = [d for d in stay if self.g.is_workday(d)] or [start]  # local rides on working days
        for _ in range(rng.randint(1, 4)):
            day = rng.choice(stay)
            fare = _money(rng.uniform(tlo, thi), Decimal("1") if currency in ("JPY", "TWD") else Decimal("0.5"))
            out.append(self.taxi(person, day, fare=fare, at=self.g.clock(8, 22.5), city=city, currency=currency))
        if night_taxi:
            days = stay[:-1] or stay
            fare = _money(rng.uniform(tlo, thi), Decimal("1") if currency in ("JPY", "TWD") else Decimal("0.5"))
            out.append(self.taxi(person, rng.choice(days), fare=fare, at=self.g.clock(1.5, 4.5), city=city,
                                 currency=currency))
        return out

    # --- the normal year ----------------------------------------------------------------------------------------
    def normal_year(self) -> None:
        rng = self.rng
        for person in self.c.people:
            rank = person.employee.rank
            for month in range(1, 13):
                days = self.spend_days(month)
                drafts: list[_Draft] = []
                for _ in range(rng.randint(1, 3 + rank)):
                    drafts.append(self.meal(person, rng.choice(days)))
                for _ in range(rng.randint(0, 4)):
                    drafts.append(self.taxi(person, rng.choice(days)))
                for _ in range(rng.choice((0, 0, 1, 1, 2))):
                    drafts.append(self.supplies(person, rng.choice(days)))
                if person.commute_fare is not None:
                    day = days[min(len(days) - 1, 9)]
                    drafts.append(self.taxi(person, day, fare=person.commute_fare, at=time(8, 40)))
                month_end = self.g.workdays(YEAR, month)[-3:] + (
                    self.g.workdays(YEAR + (month == 12), month % 12 + 1)[:4])
                latest = max(d.day for d in drafts)
                submitted = self.g.submit_at(rng.choice([d for d in month_end if d >= latest]))
                commute = any(d.amount == person.commute_fare and d.category == "taxi" for d in drafts)
                drafts.sort(key=lambda d: d.day)
                self.claim(person, submitted, drafts, lookalike="monthly_taxi" if commute else None)
                # client entertainment, more in December
                chance = (0.1 + 0.12 * rank) * (2.0 if month == 12 else 0.5 if month in (1, 2) else 1.0)
                if rng.random() < min(chance, 0.95):
                    day = rng.choice(days)
                    self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 6))),
                               [self.entertainment(person, day)])
                if rng.random() < 0.05 + 0.05 * rank:
                    start = rng.choice(days)
                    nights = rng.randint(1, 4)
                    drafts = self.trip(person, start, nights, rng.choice(list(CITIES)))
                    back = start + timedelta(days=nights)
                    self.claim(person, self.g.submit_at(back + timedelta(days=rng.randint(1, 9))), drafts)
        # the executive's legitimate large dinners
        execs = [p for p in self.c.people if p.employee.rank == 5]
        for person in execs:
            for month in rng.sample(range(1, 13), 3):
                day = rng.choice(self.g.workdays(YEAR, month))
                heads = rng.randint(6, 12)
                dinner = self.meal(person, day, heads=heads, per_head_cap=MEAL_LIMITS[5] * Decimal("0.85"),
                                   vendor=self.g.vendor("maxims-palace"))
                dinner.at = self.g.clock(19.5, 21.5)
                self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 4))), [dinner],
                           lookalike="executive_claim")

    def lookalikes(self) -> None:
        rng = self.rng
        for _ in range(rng.randint(6, 10)):  # colleagues at one lunch, each paying their share
            dept = rng.choice([d for d in self.c.departments if d.department_id.split("-")[-1] != "EXEC"])
            group = [p for p in self.c.people if p.employee.department_id == dept.department_id]
            party = rng.sample(group, min(len(group), rng.randint(2, 4)))
            day = rng.choice(self.spend_days(rng.randint(1, 12)))
            vendor = self.g.vendor(rng.choice(_MEALS))
            same_amount = rng.random() < 0.5
            lowest = min(p.employee.rank for p in party)
            base = self.meal(party[0], day, heads=1, vendor=vendor, per_head_cap=MEAL_LIMITS[lowest] * Decimal("0.6"))
            for person in party:
                share = _Draft("meals", self.g.printed(vendor), day, base.at,
                               base.amount if same_amount else _money(base.amount * Decimal(str(rng.uniform(0.7,
                                                                                                          1.3)))),
                               receipt_no=self.g.number(), district=base.district)
                self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 8))), [share],
                           lookalike="lunch_share")
        for _ in range(rng.randint(6, 10)):  # a vendor nobody here has used, in a category without partners
            person = rng.choice(self.c.people)
            day = rng.choice(self.spend_days(rng.randint(1, 12)))
            a, b = rng.choice(_NEW_VENDOR_A) + rng.choice(_NEW_VENDOR_A), rng.choice(_NEW_VENDOR_B)
            name = f"{a}{b} {_NEW_VENDOR_EN[b]}"
            if b in ("文具", "印刷"):
                draft = _Draft("general", name, day, self.g.clock(10, 18), _money(rng.uniform(40, 650)),
                               receipt_no=self.g.number())
            else:
                draft = self.meal(person, day, heads=1)
                draft.vendor = name
            self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 10))), [draft],
                       lookalike="first_time_vendor")

    # --- anomalies --------------------------------------------------------------------------------------------
    def receipts(self, categories: tuple[str, ...]) -> list[tuple[LabelledClaim, SpendRecord]]:
        return [(c, r) for c in self.claims if c.normal for r in c.rows
                if r.category in categories and r.city == "Hong Kong"]

    def inject(self, per_type: int) -> None:
        rng = self.rng
        for _ in range(per_type):  # re-submitted by the same person, the vendor written another way
            claim, row, vendor = self._pick(("meals", "general"), respell=True)
            later = row.receipt_date + timedelta(days=rng.randint(20, 70))
            drafts = [_Draft(row.category, self.g.respelled(vendor, row.vendor), row.receipt_date, row.receipt_time,
                             row.total.amount, attendees=row.attendees, receipt_no=row.receipt_no,
                             district=row.district)]
            self.claim(self.by_id[row.employee_id], max(self.g.submit_at(later), claim.submitted_at +
                                                        timedelta(days=1)), drafts, {"duplicate_respelled"})
        for _ in range(per_type):  # the same receipt claimed by a colleague (a forwarded photo, or another one)
            while True:
                claim, row, vendor = self._pick(("meals",), respell=True)
                colleagues = [p for p in self.c.people if p.employee.department_id == row.department_id
                              and p.employee.employee_id != row.employee_id
                              and (row.per_head_hkd or 0) <= MEAL_LIMITS[p.employee.rank]]
                if colleagues:
                    break
            person = rng.choice(colleagues)
            name = row.vendor if rng.random() < 0.6 else self.g.respelled(vendor, row.vendor, ocr_ok=False)
            drafts = [_Draft(row.category, name, row.receipt_date, row.receipt_time, row.total.amount,
                             attendees=row.attendees, receipt_no=row.receipt_no, district=row.district,
                             evidence=row.evidence_key if rng.random() < 0.3 else None)]
            self.claim(person, claim.submitted_at + timedelta(days=rng.randint(1, 20)), drafts, {"duplicate_colleague"})
        for _ in range(per_type):  # a receipt number already claimed at that vendor, on another day for another sum
            claim, row, _ = self._pick(("meals", "general"))
            person = self.by_id[row.employee_id]
            day = min(row.receipt_date + timedelta(days=rng.randint(5, 40)), date(YEAR, 12, 20))
            day = next(d for d in (day + timedelta(days=i) for i in range(10)) if self.g.is_workday(d))
            amount = _money(row.total.amount * Decimal(str(rng.uniform(1.15, 1.6))))
            if row.category == "meals":
                amount = min(amount, _money(MEAL_LIMITS[person.employee.rank] * (row.attendees or 1) * Decimal("0.95")))
            drafts = [_Draft(row.category, row.vendor, day, row.receipt_time, _unround(amount),
                             attendees=row.attendees, receipt_no=row.receipt_no, district=row.district)]
            when = max(self.g.submit_at(day + timedelta(days=rng.randint(2, 12))),
                       claim.submitted_at + timedelta(hours=rng.randint(2, 200)))
            self.claim(person, when, drafts, {"duplicate_receipt_no"})
        for _ in range(per_type):  # meals over the rank's limit a head
            person = rng.choice(self.c.people)
            day = rng.choice(self.spend_days(rng.randint(1, 12)))
            heads = rng.randint(2, 6)
            limit = MEAL_LIMITS[person.employee.rank]
            draft = self.meal(person, day, heads=heads)
            draft.amount = _money(limit * heads * Decimal(str(rng.uniform(1.25, 1.9)))) + Decimal("0.4")
            self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 8))), [draft], {"over_limit"})
        partner_categories = list(self.partners)
        for _ in range(per_type if partner_categories else 0):  # a category with approved suppliers, another vendor
            person = rng.choice(self.c.people)
            day = rng.choice(self.spend_days(rng.randint(1, 12)))
            category = rng.choice(partner_categories)
            if category == "taxi":
                draft = self.taxi(person, day)
                draft.vendor = self.g.printed(self.g.vendor(rng.choice(("taxi", "didi"))))
            else:
                others = [v for v in _MEALS if v not in self.partners[category]]
                draft = self.entertainment(person, day, venue=self.g.vendor(rng.choice(others)))
            self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 8))), [draft], {"non_partner"})
        for i in range(per_type):  # spend cut just under the approval threshold
            if i % 3 == 2:
                self._split_trip()
            else:
                self._split_purchases()
        for _ in range(per_type if self.forbid else 0):  # spend on a weekend or public holiday
            person = rng.choice(self.c.people)
            month = rng.randint(1, 12)
            day = rng.choice(self.g.off_days(YEAR, month))
            draft = rng.choice((self.meal, self.supplies, self.taxi))(person, day)
            self.claim(person, self.g.submit_at(self._next_workday(day + timedelta(days=rng.randint(1, 9)))),
                       [draft], {"weekend_holiday"})
        for _ in range(per_type):  # a receipt dated long before the claim
            person = rng.choice(self.c.people)
            day = rng.choice(self.spend_days(rng.randint(1, 7)))
            draft = rng.choice((self.meal, self.supplies, self.taxi))(person, day)
            late = self._next_workday(day + timedelta(days=rng.randint(100, 200)))
            self.claim(person, self.g.submit_at(late), [draft], {"stale_receipt"})
        for _ in range(per_type):  # a suspiciously round amount
            person = rng.choice(self.c.people)
            day = rng.choice(self.spend_days(rng.randint(1, 12)))
            draft = self.supplies(person, day)
            draft.amount = Decimal(rng.choice((1000, 1200, 1300, 1500, 2500, 2800, 3000, 3500, 4000)))
            self.claim(person, self.g.submit_at(day + timedelta(days=rng.randint(1, 8))), [draft], {"round_amount"})
        for _ in range(per_type):  # a taxi at 3 a.m. on a working day in the city of the hotel
            person = rng.choice(self.c.people)
            start = rng.choice(self.spend_days(rng.randint(1, 12)))
            nights = rng.randint(2, 4)
            drafts = self.trip(person, start, nights, rng.choice(list(CITIES)), night_taxi=True)
            self.claim(person, self.g.submit_at(start + timedelta(days=nights + rng.randint(1, 7))), drafts,
                       {"night_taxi"})

    def outliers(self, count: int) -> None:
        """`count` amount and `count` vendor outliers (`MODEL_ANOMALIES`), spread over the year."""
        from statistics import median

        rng = self.rng
        usual: dict[str, Decimal] = {}
        for kind in ("lunch", "dinner", "taxi", "general"):
            amounts = [r.total_hkd for c in self.claims if c.normal for r in c.rows
                       if r.city == "Hong Kong" and _kind(r.category, r.receipt_time) == kind]
            usual[kind] = median(amounts) if amounts else Decimal("200")
        spenders = [p for p in self.c.people if p.employee.rank < 5]
        for i in range(2 * count):
            person = rng.choice(spenders)
            day = rng.choice(self.spend_days(rng.randint(1, 12)))
            make = rng.choice((self.meal, self.taxi, self.supplies))
            draft = make(person, day, heads=1) if make == self.meal else make(person, day)
            kind = _kind(draft.category, draft.at)
            if i % 2 == 0:
                label, factor = "amount_outlier", rng.uniform(4, 10)
            else:
                label, factor = "vendor_outlier", rng.uniform(2, 4)
                far = [d for d in DISTRICTS if d not in person.districts]
                draft.vendor, draft.district = rng.choice(_ODD_VENDORS), rng.choice(far)
                draft.at, draft.receipt_no = time(rng.randrange(1, 5), rng.randrange(60)), self.g.number()
            step = Decimal("0.5") if draft.category == "taxi" else CENT
            draft.amount = _unround(_money(usual[kind] * Decimal(str(factor)), step))
            drafts = [draft]
            if rng.random() < 0.5:  # hidden among a few ordinary receipts of the same days
                drafts += [self.meal(person, rng.choice(self.spend_days(day.month))) for _ in range(rng.randint(1, 3))]
            odd = drafts[0]
            drafts.sort(key=lambda d: d.day)
            made = self.claim(person, self.g.submit_at(self._next_workday(max(d.day for d in drafts) +
                                                                          timedelta(days=rng.randint(1, 8)))),
                              drafts, {label})
            made.odd_rows = [made.rows[next(k for k, d in enumerate(drafts) if d is odd)].expense_id]

    def _pick(self, categories: tuple[str, ...], respell: bool = False) -> tuple[LabelledClaim, SpendRecord, Vendor]:
        """A normal receipt in Hong Kong with a numbered directory vendor (that can be written another way)."""
        rows = self.receipts(categories)
        while True:
            claim, row = self.rng.choice(rows)
            if row.expense_id in self._used:
                continue  # one original per injected duplicate, so each case has one label
            match = self.c.vendors.match([], row.vendor) if row.receipt_no else None
            if match is None:
                continue
            names = {_fold_key(n) for n in match.vendor.names.values()} - {_fold_key(row.vendor)}
            if not respell or names:
                self._used.add(row.expense_id)
                return claim, row, match.vendor

    def _next_workday(self, day: date) -> date:
        while not self.g.is_workday(day):
            day += timedelta(days=1)
        return day

    def _split_purchases(self) -> None:
        """One person buys equipment in two or three invoices, each just under HK$5,000, over a few days."""
        rng = self.rng
        person = rng.choice(self.c.people)
        month = rng.randint(1, 12)
        days = [d for d in self.spend_days(month)
                if all(self.g.is_workday(d + timedelta(days=k)) for k in range(3))] or self.spend_days(month)
        day = rng.choice(days)
        vendor = self.g.vendor(rng.choice(("fortress", "broadway", "apple-store")))
        for k in range(rng.randint(2, 3)):
            amount = _money(rng.uniform(4480, 4990))
            if amount % 100 == 0:
                amount += Decimal("0.5")
            when = day + timedelta(days=k)
            draft = _Draft("general", self.g.printed(vendor), when, self.g.clock(11, 17), amount,
                           receipt_no=self.g.number(), district=rng.choice(person.districts))
            labels = {"threshold_split"} if k else {OPENING}
            self.claim(person, self.g.submit_at(when, 18, 22), [draft], labels)

    def _split_trip(self) -> None:
        """Colleagues on one trip each claim a just-under-threshold share of the same hotel bill."""
        rng = self.rng
        dept = rng.choice([d for d in self.c.departments if not d.department_id.endswith("EXEC")])
        group = [p for p in self.c.people if p.employee.department_id == dept.department_id]
        party = rng.sample(group, min(len(group), rng.randint(2, 3)))
        start = rng.choice(self.spend_days(rng.randint(1, 12)))
        city = rng.choice(list(CITIES))
        currency = CITIES[city][0]
        hotel = self.g.vendor(rng.choice(HOTELS))
        rate = self.c.policy.fx.hkd_per_unit.get(currency, Decimal("1"))
        step = Decimal("1") if currency == "JPY" else CENT
        at = self.g.submit_at(start + timedelta(days=4))
        for k, person in enumerate(party):
            hkd = Decimal(str(rng.uniform(4500, 4960)))
            draft = _Draft("travel", hotel_name(self.g.printed(hotel), city), start + timedelta(days=3),
                           self.g.clock(7, 11),
                           _money(hkd / rate, step), currency=currency, receipt_no=self.g.number("F"), city=city)
            labels = {"threshold_split"} if k else {OPENING}
            self.claim(person, at + timedelta(hours=3 * k + rng.randint(0, 2)), [draft], labels)

    def budgets_and_overruns(self, count: int) -> None:
        """Budgets a little above each cost centre's busiest month; then spend that passes one in some months,
        claimed after everything else dated in that month (so later normal claims are not over it)."""
        spent: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        last: dict[tuple[str, int], datetime] = {}
        for c in self.claims:
            for r in c.rows:
                k = (r.cost_centre, r.receipt_date.month) if r.receipt_date.year == YEAR else None
                if k:
                    spent[k] += r.total_hkd
                    last[k] = max(last.get(k, c.submitted_at), c.submitted_at)
        budgets = {}
        for cc in {p.cost_centre for p in self.c.people}:
            busiest = max((v for (c, _), v in spent.items() if c == cc), default=Decimal("0"))
            budgets[cc] = Decimal(math.ceil(busiest * Decimal("1.15") / 1000) * 1000)
        self.c.policy.cost_centre_budgets_hkd = budgets
        candidates = sorted(((cc, m) for (cc, m) in spent if budgets[cc] - spent[(cc, m)] < 20000),
                            key=lambda k: spent[k] - budgets[k[0]], reverse=True)
        candidates = [k for k in candidates if last[k].date() - date(YEAR, k[1], 28) < timedelta(days=55)]
        for cc, month in candidates[:count]:
            left = budgets[cc] - spent[(cc, month)]
            amount = _money(left + Decimal(str(self.rng.uniform(300, 2500))))
            if amount % 100 == 0:
                amount += Decimal("0.7")
            person = self.rng.choice([p for p in self.c.people if p.cost_centre == cc])
            day = self.rng.choice(self.g.workdays(YEAR, month))
            airline = self.g.vendor(self.rng.choice(AIRLINES))
            draft = _Draft("travel", self.g.printed(airline), day, self.g.clock(9, 20), amount,
                           receipt_no=self.g.number("TKT"))
            when = last[(cc, month)] + timedelta(hours=self.rng.randint(1, 30))
            self.claim(person, when, [draft], {"over_budget"})


#: vendors nobody in the generated companies uses (as `anomaly_model.plant_outliers` names them)
_ODD_VENDORS = ("金龍珠寶 Golden Dragon Jewellery", "Lucky Star Karaoke 幸運星卡拉OK", "Orient Spa 東方水療",
                "Harbour Yacht Charter 海港遊艇", "Royal Watch Co. 皇家鐘錶", "Peak Wine Cellar 山頂酒窖")


def _kind(category: str, at: time | None) -> str:
    """Lunch and dinner apart (a dinner costs more), else the category."""
    if category == "meals":
        return "dinner" if at is not None and at.hour >= 17 else "lunch"
    return category


def hotel_name(printed: str, city: str) -> str:
    """A folio prints the hotel's name, the word hotel and the city."""
    from chalicelib.domain.anomaly.timing import is_hotel

    return f"{printed} {city}" if is_hotel(printed) else f"{printed} Hotel {city}"


def _unround(amount: Decimal) -> Decimal:
    return amount + Decimal("0.3") if amount >= 1000 and amount % 100 == 0 else amount


_MEALS = ("fairwood", "cafe-de-coral", "maxims", "mcdonalds", "kfc", "yoshinoya", "genki-sushi", "sushiro",
          "tamjai-samgor", "tamjai-yunnan", "tsui-wah", "tai-hing", "tao-heung", "pizza-hut", "subway", "mos-burger",
          "itacho-sushi", "maxims-palace")


def generate(seed: int, companies: int = 3, per_type: int = 6) -> Histories:
    """`companies` companies, a year each, `per_type` injected cases of each anomaly per company (where the
    company's policy makes the type possible), in submission order."""
    gen = _Generator(seed)
    made, claims = [], {}
    for i in range(companies):
        company = gen.company(i)
        history = _CompanyHistory(gen, company)
        history.normal_year()
        history.lookalikes()
        history.inject(per_type)
        history.outliers(4 * per_type)
        history.budgets_and_overruns(per_type)
        made.append(company)
        claims[company.name] = sorted(history.claims, key=lambda c: (c.submitted_at, c.claim_id))
    return Histories(seed, made, claims)


def _jsonable(value: object) -> object:
    if isinstance(value, (Decimal, date, time, datetime)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    raise TypeError(type(value).__name__)


def write(histories: Histories, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    companies = [{"name": c.name, "policy": c.policy.model_dump(mode="json"),
                  "departments": [d.model_dump(mode="json") for d in c.departments],
                  "people": [{"employee": p.employee.model_dump(mode="json"), "cost_centre": p.cost_centre,
                              "districts": p.districts} for p in c.people],
                  "partners": c.partner_ids()} for c in histories.companies]
    (out / "companies.json").write_text(json.dumps({"seed": histories.seed, "companies": companies},
                                                   ensure_ascii=False, indent=1, default=_jsonable), encoding="utf-8")
    for name, claims in histories.claims.items():
        with (out / f"CLAIMS-{name}.jsonl").open("w", encoding="utf-8") as fh:
            for c in claims:
                body = {"claim_id": c.claim_id, "employee_id": c.employee_id, "submitted_at": c.submitted_at,
                        "labels": c.labels, "lookalike": c.lookalike, "odd_rows": c.odd_rows,
                        "rows": [{k: v for k, v in asdict(r).items() if v is not None} for r in c.rows]}
                fh.write(json.dumps(body, ensure_ascii=False, default=_jsonable) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--companies", type=int, default=3)
    parser.add_argument("--per-type", type=int, default=6)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    histories = generate(args.seed, args.companies, args.per_type)
    write(histories, args.out)
    for name, claims in histories.claims.items():
        rows = sum(len(c.rows) for c in claims)
        labelled = sum(1 for c in claims if c.labels)
        print(f"{name}: {len(claims)} claims, {rows} rows, {labelled} labelled")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
