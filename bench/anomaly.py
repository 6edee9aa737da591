"""Anomaly rules benchmark on generated, labelled claim histories (tools.claim_histories).

``python -m bench.anomaly --seed N`` generates the histories for seed N, streams each company's claims through the
rules in submission order (each claim scored against the history so far, then remembered, as the stream handler
does through `ScoringHistory`), and prints one ``name: value`` line each:
- ``precision.<type>`` / ``recall.<type>``: a claim counts as found for a type when a rule of that type fired on it;
  precision is over every claim where those rules fired;
- ``duplicates.precision`` / ``duplicates.recall``: the three duplicate kinds together;
- ``overall.precision`` / ``overall.recall``: any rule of the bench on any labelled claim;
- ``fpr.<rule>``: the share of normal claims (no label; look-alikes included) where the rule fired, and
  ``fpr.lookalike.<name>``: the share of each look-alike where any rule fired;
- ``records_per_s``: rows through the rules per second (generation not counted).
Tuning used seeds 1-99 only; the issue's figures are for a seed never tuned on (4242).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict

from chalicelib.adapters.scoring_history import InMemoryScoringHistory
from chalicelib.domain.anomaly import VendorResolver, assess_claim
from tools.claim_histories import ANOMALIES, LOOKALIKES, OPENING, generate

#: the rule codes that find each injected type
RULES_OF = {"duplicate_respelled": {"duplicate_own"}, "duplicate_colleague": {"duplicate_colleague"},
            "duplicate_receipt_no": {"duplicate_receipt_no"}}
DUPLICATES = ("duplicate_respelled", "duplicate_colleague", "duplicate_receipt_no")
BENCH_RULES = sorted({r for t in ANOMALIES for r in RULES_OF.get(t, {t})})


def run(seed: int, companies: int = 3, per_type: int = 6) -> dict[str, float]:
    histories = generate(seed, companies, per_type)
    fired: list[tuple[set[str], set[str], str | None]] = []  # (labels, rules fired, look-alike)
    rows, elapsed = 0, 0.0
    for company in histories.companies:
        vendors = VendorResolver(company.vendors)
        history = InMemoryScoringHistory()
        policy = company.policy
        claims = histories.claims[company.name]
        start = time.perf_counter()
        for claim in claims:
            found = assess_claim(claim.rows, history.history(None, policy), policy, vendors)
            history.remember(None, claim.rows)
            fired.append((claim.labels, {f.rule for fs in found.values() for f in fs}, claim.lookalike))
            rows += len(claim.rows)
        elapsed += time.perf_counter() - start
    return _metrics(fired, rows, elapsed)


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _metrics(fired: list[tuple[set[str], set[str], str | None]], rows: int, elapsed: float) -> dict[str, float]:
    out: dict[str, float] = {}
    scored = [(labels, rules, look) for labels, rules, look in fired if labels != {OPENING}]
    for kind in ANOMALIES:
        rules = RULES_OF.get(kind, {kind})
        hit = [labels for labels, got, _ in scored if got & rules]
        labelled = [got for labels, got, _ in scored if kind in labels]
        out[f"precision.{kind}"] = _ratio(sum(kind in labels for labels in hit), len(hit))
        out[f"recall.{kind}"] = _ratio(sum(bool(got & rules) for got in labelled), len(labelled))
        out[f"cases.{kind}"] = len(labelled)
    dup_rules = {r for k in DUPLICATES for r in RULES_OF[k]}
    hit = [labels for labels, got, _ in scored if got & dup_rules]
    labelled = [got for labels, got, _ in scored if labels & set(DUPLICATES)]
    out["duplicates.precision"] = _ratio(sum(bool(labels & set(DUPLICATES)) for labels in hit), len(hit))
    out["duplicates.recall"] = _ratio(sum(bool(got & dup_rules) for got in labelled), len(labelled))
    bench = set(BENCH_RULES)
    hit = [labels for labels, got, _ in scored if got & bench]
    labelled = [got for labels, got, _ in scored if labels]
    out["overall.precision"] = _ratio(sum(bool(labels) for labels in hit), len(hit))
    out["overall.recall"] = _ratio(sum(bool(got & bench) for got in labelled), len(labelled))
    normal = [(got, look) for labels, got, look in scored if not labels]
    counts = Counter(r for got, _ in normal for r in got)
    out["normal_claims"] = len(normal)
    for rule in BENCH_RULES:
        out[f"fpr.{rule}"] = _ratio(counts[rule], len(normal))
    by_look: dict[str, list[bool]] = defaultdict(list)
    for got, look in normal:
        if look:
            by_look[look].append(bool(got & bench))
    for look in LOOKALIKES:
        out[f"fpr.lookalike.{look}"] = _ratio(sum(by_look[look]), len(by_look[look]))
        out[f"cases.lookalike.{look}"] = len(by_look[look])
    out["records"] = rows
    out["records_per_s"] = rows / elapsed if elapsed else float("nan")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="anomaly rules: precision, recall, false positives, speed")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--companies", type=int, default=3)
    parser.add_argument("--per-type", type=int, default=6)
    args = parser.parse_args(argv)
    for name, value in run(args.seed, args.companies, args.per_type).items():
        if name == "records_per_s":
            print(f"anomaly.{name}: {value:.0f} records/s")
        elif name.startswith(("cases", "records", "normal")):
            print(f"anomaly.{name}: {int(value)}")
        else:
            print(f"anomaly.{name}: {value:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
