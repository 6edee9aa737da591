"""The per-company anomaly model: trained on the company's own history, stored as a versioned artefact, loaded once
per container, run as one extra rule of scoring (`assess_claim(extra_rules=[...])`).

What it learns: the features of `chalicelib.domain.anomaly.features` (amount against the employee's and the
company's norm for that kind of spend, per head, vendor frequency, hour and weekday, submission lag, distance from
the employee's usual places). What it says: a finding only above the company's own threshold (the
`FLAG_QUANTILE` of its training scores), worded by `chalicelib.domain.anomaly.explain` from the one or two
features that stand out most (robust z against the training rows), in English and 繁中.

Model choice, measured by ROC AUC on the amount / vendor outliers planted (`plant_outliers`) into the last three
months of held-out seed 4242 (tools/claim_histories.py, 3 companies, each model trained on its company's first
nine months; mean over the companies; `python -m bench.anomaly --seed 4242`):

    kind               amount  vendor  both   over_limit  round_amount  fit (s)
    isolation_forest   0.955   1.000   0.977  0.979       0.837         0.91   (kept)
    local_outlier      0.948   0.985   0.967  0.922       0.947         0.24   (LocalOutlierFactor, novelty, 35 nbrs)
    robust_z           0.708   0.991   0.848  0.903       0.636         0.12   (sum of the two largest directional z)

On the generator's own labelled outliers (tools/claim_histories.py MODEL_ANOMALIES, the same seed and cut, 20 amount
and 17 vendor cases among the later claims): isolation_forest 0.946 / 0.992 / 0.968 (amount / vendor / both),
local_outlier 0.947 / 0.924 / 0.938, robust_z 0.654 / 0.912 / 0.780.

Isolation forest is kept: the best on both planted kinds and on the generator's over-limit meals; the
local-outlier model ranks round-amount purchases better but flags 3% of one company's normal rows at the same
quantile. The forest is stored compiled (`compile_forest`): scoring needs numpy only and runs about 100× faster
than `IsolationForest.score_samples` on a claim's few rows.

Too little history (`MIN_ROWS`) gives no model: the company is scored by the rules only and its claims' audit
records say so. A new version is promoted (the `current` pointer moved) only if it separates outliers planted
into its own held-out slice (the latest `HOLDOUT` of its rows) with ROC AUC >= `VALIDATION_FLOOR`; otherwise it is
stored for inspection with the reason and the current version stays.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import random
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.domain.anomaly import Finding, History, SpendRecord
from chalicelib.domain.anomaly import explain as words
from chalicelib.domain.anomaly.features import FEATURES, CompanyNorms, EmployeeNorms, training_vectors, vector
from chalicelib.domain.money import Money

log = logging.getLogger(__name__)

MIN_ROWS = 200  # expense rows a company needs before it gets a model
HOLDOUT = 0.2  # the latest share of the training rows kept back to validate a new version
VALIDATION_FLOOR = 0.85  # ROC AUC on planted outliers a version must reach to be promoted
FLAG_QUANTILE = 0.995  # a row above this quantile of the training scores gets a finding
WEIGHT = 0.45  # the finding's weight: worth a look, not a high risk on its own
MODEL_KIND = "isolation_forest"
KINDS = ("isolation_forest", "local_outlier", "robust_z")
RANDOM_STATE = 7
#: Features whose unusual side is "larger" (the others are unusual either way: the clock and the week).
HIGHER_IS_ODD = frozenset({"amount_vs_employee", "amount_vs_company", "amount_vs_vendor", "per_head_vs_company",
                           "attendees", "vendor_rarity", "new_vendor_for_employee", "lag_days", "distance_km",
                           "hour_unusual"})
RULES_ONLY_VERSION = "rules-only"


class ModelRefused(Exception):
    """A stored model that must not be loaded (its bytes are not the ones its metadata names, another sklearn)."""


class ModelStore(Protocol):
    """Versioned model artefacts of each company, and a `current` pointer per company."""

    def put_version(self, company: str, version: str, model: bytes, metadata: dict) -> None: ...

    def promote(self, company: str, version: str) -> None: ...

    def current(self, company: str) -> tuple[bytes, dict] | None: ...

    def metadata(self, company: str, version: str) -> dict | None: ...

    def put_run(self, company: str, run: dict) -> None: ...

    def last_run(self, company: str) -> dict | None: ...


# --- the model --------------------------------------------------------------------------------------------------


def _np():
    import numpy as np  # image-only packages: imported when a model is trained or loaded, not by the rules

    return np


def compile_forest(forest: Any) -> dict:
    """A fitted IsolationForest as flat numpy arrays (every tree's nodes one after another), scored by
    `forest_scores` exactly as `IsolationForest.score_samples` does (a unit test holds them equal), in a few numpy
    steps for all trees at once instead of a Python loop over 200 trees. The artefact stores these arrays, not the
    estimator: loading it needs numpy only, not scikit-learn (the cold start's largest part)."""
    np = _np()
    from sklearn.ensemble._iforest import _average_path_length

    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    offset, depth = 0, 0
    for i, tree in enumerate(forest.estimators_):
        t = tree.tree_
        roots.append(offset)
        feature.append(t.feature)
        threshold.append(t.threshold)
        left.append(np.where(t.children_left == -1, -1, t.children_left + offset))
        right.append(np.where(t.children_right == -1, -1, t.children_right + offset))
        value.append(forest._decision_path_lengths[i] + forest._average_path_length_per_tree[i] - 1.0)
        offset += t.node_count
        depth = max(depth, t.max_depth)
    if getattr(forest, "_max_features", None) != forest.n_features_in_:
        raise ValueError("a forest of trees on feature subsets cannot be compiled")
    return {"feature": np.concatenate(feature).astype(np.int64), "threshold": np.concatenate(threshold),
            "left": np.concatenate(left).astype(np.int64), "right": np.concatenate(right).astype(np.int64),
            "value": np.concatenate(value), "roots": np.asarray(roots, dtype=np.int64), "depth": depth,
            "denominator": float(len(forest.estimators_) * _average_path_length([forest._max_samples])[0])}


def forest_scores(forest: dict, x) -> Any:
    """`-IsolationForest.score_samples(x)` from the compiled arrays (higher is more unusual)."""
    np = _np()
    x = np.asarray(x, dtype=np.float32)  # the trees compare float32 values, as sklearn's apply does
    rows = np.arange(len(x))[:, None]
    node = np.broadcast_to(forest["roots"], (len(x), len(forest["roots"]))).copy()
    for _ in range(forest["depth"]):
        left = forest["left"][node]
        leaf = left == -1
        if leaf.all():
            break
        goes_left = x[rows, np.where(leaf, 0, forest["feature"][node])] <= forest["threshold"][node]
        node = np.where(leaf, node, np.where(goes_left, left, forest["right"][node]))
    depths = forest["value"][node].sum(axis=1)
    return 2 ** (-depths / forest["denominator"]) if forest["denominator"] else np.ones(len(x))


@dataclass
class TrainedModel:
    kind: str
    norms: CompanyNorms
    center: list[float]
    scale: list[float]
    estimator: Any = None  # local_outlier: the fitted estimator; isolation_forest: only while training
    threshold: float = math.inf
    forest: dict | None = None  # isolation_forest: the compiled trees (what is stored and scored)

    def standardise(self, rows: Sequence[Sequence[float]]):
        np = _np()
        return (np.asarray(rows, dtype=float) - np.asarray(self.center)) / np.asarray(self.scale)

    def zs(self, rows: Sequence[Sequence[float]]):
        """Directional z per feature: how far on the unusual side of the company's median each value is."""
        np = _np()
        z = self.standardise(rows)
        odd = np.array([f in HIGHER_IS_ODD for f in FEATURES])
        return np.where(odd, z, np.abs(z))

    def scores(self, rows: Sequence[Sequence[float]]):
        """Higher is more unusual."""
        np = _np()
        if not len(rows):
            return np.zeros(0)
        if self.kind == "robust_z":
            z = np.clip(self.zs(rows), 0, None)
            top = np.sort(z, axis=1)[:, -2:]
            return top.sum(axis=1)
        if self.forest is not None:
            return forest_scores(self.forest, self.standardise(rows))
        return -self.estimator.score_samples(self.standardise(rows))


def fit(kind: str, vectors: Sequence[Sequence[float]], norms: CompanyNorms) -> TrainedModel:
    np = _np()
    x = np.asarray(vectors, dtype=float)
    center = np.median(x, axis=0)
    mad = np.median(np.abs(x - center), axis=0) * 1.4826
    scale = np.maximum(np.maximum(mad, 0.5 * x.std(axis=0)), 0.05)
    model = TrainedModel(kind, norms, center.tolist(), scale.tolist())
    z = model.standardise(x)
    if kind == "isolation_forest":
        from sklearn.ensemble import IsolationForest

        model.estimator = IsolationForest(n_estimators=200, max_samples=min(512, len(x)),
                                          random_state=RANDOM_STATE).fit(z)
        model.forest = compile_forest(model.estimator)
    elif kind == "local_outlier":
        from sklearn.neighbors import LocalOutlierFactor

        model.estimator = LocalOutlierFactor(n_neighbors=35, novelty=True).fit(z)
    elif kind != "robust_z":
        raise ValueError(f"unknown model kind {kind!r}")
    model.threshold = float(np.quantile(model.scores(x), FLAG_QUANTILE))
    return model


def dumps(model: TrainedModel) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump({"kind": model.kind, "norms": model.norms.to_json(), "center": model.center, "scale": model.scale,
                 "estimator": None if model.forest is not None else model.estimator, "forest": model.forest,
                 "threshold": model.threshold, "features": list(FEATURES)}, buffer)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def loads(data: bytes, metadata: dict) -> TrainedModel:
    """The model, only if its bytes are the ones the metadata names (checked before unpickling) and it was made by
    this scikit-learn and for these features."""
    if sha256(data) != metadata.get("sha256"):
        raise ModelRefused("the model's bytes do not match the sha256 in its metadata")
    import joblib

    if metadata.get("kind") != "isolation_forest":  # a pickled estimator: only the scikit-learn that made it
        import sklearn

        if metadata.get("sklearn") != sklearn.__version__:
            raise ModelRefused(f"trained with scikit-learn {metadata.get('sklearn')}, this is {sklearn.__version__}")
    body = joblib.load(io.BytesIO(data))
    if body["features"] != list(FEATURES):
        raise ModelRefused("trained on other features")
    return TrainedModel(body["kind"], CompanyNorms.from_json(body["norms"]), body["center"], body["scale"],
                        body["estimator"], body["threshold"], body.get("forest"))


# --- planted outliers (validation and the bench) ----------------------------------------------------------------

_ODD_VENDORS = ("金龍珠寶 Golden Dragon Jewellery", "Lucky Star Karaoke 幸運星卡拉OK", "Orient Spa 東方水療",
                "Harbour Yacht Charter 海港遊艇", "Royal Watch Co. 皇家鐘錶", "Peak Wine Cellar 山頂酒窖")
_FAR_PLACES = ("Tuen Mun", "Yuen Long", "Tung Chung", "Macau")


def plant_outliers(rows: Sequence[SpendRecord], seed: int, count: int) -> list[tuple[SpendRecord, str]]:
    """`count` rows made from real ones (half each kind), labelled `amount` or `vendor`:
    - amount: the same kind of spend (lunch, dinner, taxi, ...) at 4-10× the median of that kind among `rows`
      ("HK$4,800 is 6× the usual dinner");
    - vendor: a vendor nobody used, at an hour the claimant does not spend (01:00-04:59), in a place far from
      theirs, for 2-4× the usual amount (a first-time vendor alone is normal: see the first_time_vendor look-alike).
    """
    from statistics import median

    from chalicelib.domain.anomaly.features import slot

    rng = random.Random(seed)
    priced = [r for r in rows if r.total_hkd and r.total_hkd > 0 and r.total]
    usual: dict[str, Decimal] = {}
    for kind in {slot(r) for r in priced}:
        usual[kind] = median(r.total_hkd for r in priced if slot(r) == kind)
    out = []

    def scaled(base: SpendRecord, factor: Decimal) -> dict:
        target = (usual[slot(base)] * factor).quantize(Decimal("0.01"))
        ratio = target / base.total_hkd
        return {"total_hkd": target, "total": Money.of((base.total.amount * ratio).quantize(Decimal("0.01")),
                                                       base.total.currency), "dedupe": "", "evidence_key": None}

    for i in range(count):
        base = rng.choice(priced)
        if i % 2 == 0:
            made = replace(base, expense_id=f"{base.expense_id}-amount{i}",
                           **scaled(base, Decimal(str(round(rng.uniform(4, 10), 2)))))
            out.append((made, "amount"))
        else:
            made = replace(base, expense_id=f"{base.expense_id}-vendor{i}", vendor=rng.choice(_ODD_VENDORS),
                           receipt_time=time(rng.randrange(1, 5), rng.randrange(60)), receipt_no=None,
                           district=rng.choice(_FAR_PLACES) if base.city in (None, "Hong Kong") else base.district,
                           **scaled(base, Decimal(str(round(rng.uniform(2, 4), 2)))))
            out.append((made, "vendor"))
    return out


def roc_auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """The chance a positive scores above a negative (ties count half): the Mann-Whitney form of ROC AUC."""
    if not positive or not negative:
        return float("nan")
    np = _np()
    pos, neg = np.asarray(positive, dtype=float), np.sort(np.asarray(negative, dtype=float))
    below = np.searchsorted(neg, pos, side="left")
    not_above = np.searchsorted(neg, pos, side="right")
    return float(((below + not_above) / 2).sum() / (len(pos) * len(neg)))


# --- scoring ----------------------------------------------------------------------------------------------------


def employee_vectors(model: TrainedModel, rows: Sequence[SpendRecord], history: History,
                     cache: dict[str, tuple[list, int, EmployeeNorms]] | None = None):
    """Feature vectors and the numbers behind them for rows scored against the history so far. `cache`: employee
    norms kept between claims of one growing History (the bench, a stream of one company): only the rows added
    since are indexed."""
    own: dict[str, EmployeeNorms] = {}
    vectors, why = [], []
    for r in rows:
        if r.employee_id not in own:
            past = history.by_employee(r.employee_id)
            held = cache.get(r.employee_id) if cache is not None else None
            if held is not None and held[0] is past and held[1] <= len(past):
                norms = held[2]
                for extra in past[held[1]:]:
                    norms.add(extra)
            else:
                norms = EmployeeNorms(past)
            if cache is not None:
                cache[r.employee_id] = (past, len(past), norms)
            own[r.employee_id] = norms
        v, w = vector(r, own[r.employee_id], model.norms)
        vectors.append(v)
        why.append(w)
    return vectors, why


@dataclass
class ModelRule:
    """The loaded model as one extra rule: `prime` scores a claim's rows in one batch, the rule reads the result."""

    model: TrainedModel
    version: str
    _primed: dict[str, list[Finding]] = field(default_factory=dict)
    _norms: dict = field(default_factory=dict)  # employee norms between claims of one History (see employee_vectors)

    note = None  # a company with a model has nothing to say about its absence

    def prime(self, rows: Sequence[SpendRecord], history: History) -> None:
        try:
            self._primed = self.findings(rows, history)
        except Exception as exc:  # noqa: BLE001 - the model must never fail a claim: the rules still score it
            log.error("anomaly model %s failed on a claim: %s", self.version, type(exc).__name__)
            self._primed = {r.expense_id: [] for r in rows}

    def findings(self, rows: Sequence[SpendRecord], history: History) -> dict[str, list[Finding]]:
        if self._norms.get("history") is not history:
            self._norms = {"history": history, "employees": {}}
        vectors, why = employee_vectors(self.model, rows, history, self._norms["employees"])
        if not vectors:
            return {}
        scores = self.model.scores(vectors)
        zs = self.model.zs(vectors)
        out: dict[str, list[Finding]] = {}
        for i, row in enumerate(rows):
            out[row.expense_id] = []
            if scores[i] <= self.model.threshold:
                continue
            order = [FEATURES[j] for j in sorted(range(len(FEATURES)), key=lambda j: -zs[i][j]) if zs[i][j] > 1.0]
            text = words.reason(order, row, why[i]) or (
                "unusual for this company: an unusual combination of amount, vendor, time and place / "
                "與公司慣常不同：金額、商戶、時間及地點的組合少見")
            out[row.expense_id].append(Finding(WEIGHT, text, words.RULE))
        return out

    def __call__(self, row: SpendRecord, history: History) -> list[Finding]:
        if row.expense_id in self._primed:
            return self._primed.pop(row.expense_id)
        return self.findings([row], history).get(row.expense_id, [])


@dataclass(frozen=True)
class RulesOnly:
    """No model for this company (too little history, none promoted, or one refused): the rules alone, said so."""

    reason: str = words.RULES_ONLY
    version: str = RULES_ONLY_VERSION
    transient: bool = False  # the store could not be read: try again at the next claim

    @property
    def note(self) -> str:
        return self.reason

    def prime(self, rows: Sequence[SpendRecord], history: History) -> None:
        return None

    def __call__(self, row: SpendRecord, history: History) -> list[Finding]:
        return []


_LOADED: dict[str, tuple[float, ModelRule | RulesOnly]] = {}  # per container: company -> (loaded at, scorer)
LOAD_SECONDS: dict[str, float] = {}
RELOAD_AFTER_S = 6 * 3600  # a warm container picks up the daily promotion within hours, not at its recycling


def scorer(store: ModelStore | None, company: str) -> ModelRule | RulesOnly:
    """The company's current model, loaded once per container (the cold-start part is in LOAD_SECONDS) and again
    after `RELOAD_AFTER_S`; a store that could not be read is tried again at the next claim."""
    held = _LOADED.get(company)
    if held is not None and clock.monotonic() - held[0] < RELOAD_AFTER_S:
        return held[1]
    found = load(store, company)
    if not getattr(found, "transient", False):
        _LOADED[company] = (clock.monotonic(), found)
    return found


def load(store: ModelStore | None, company: str) -> ModelRule | RulesOnly:
    start = clock.perf_counter()
    try:
        current = store.current(company) if store is not None else None
        if current is None:
            return RulesOnly()
        data, metadata = current
        return ModelRule(loads(data, metadata), metadata["version"])
    except ModelRefused as exc:
        log.error("anomaly model refused for company %s: %s", company, exc)
        return RulesOnly(f"the company's model could not be used ({exc}); rules only / 公司模型無法使用，只用規則")
    except Exception as exc:  # noqa: BLE001 - the store unreachable: score by the rules, never fail the claim
        log.warning("anomaly model for company %s not loaded: %s", company, type(exc).__name__)
        return RulesOnly(f"the company's model could not be read ({type(exc).__name__}); rules only / "
                         "未能讀取公司模型，只用規則", transient=True)
    finally:
        LOAD_SECONDS[company] = clock.perf_counter() - start


def forget_loaded() -> None:
    """Tests and the bench: the next claim loads the model again, as a cold container would."""
    _LOADED.clear()
    LOAD_SECONDS.clear()


# --- training and promotion -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    company: str
    version: str | None
    promoted: bool
    reason: str
    metadata: dict = field(default_factory=dict)


def version_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def train(rows: Sequence[SpendRecord], kind: str = MODEL_KIND) -> tuple[TrainedModel, list[list[float]]]:
    norms = CompanyNorms.of(rows)
    vectors = training_vectors(list(rows), norms)
    return fit(kind, vectors, norms), vectors


def validate(rows: Sequence[SpendRecord], kind: str = MODEL_KIND, seed: int = RANDOM_STATE) -> dict:
    """Train on the earlier rows, plant outliers into the latest `HOLDOUT`, and measure how well they stand out."""
    ordered = sorted(rows, key=lambda r: (r.submitted_at, r.expense_id))
    cut = int(len(ordered) * (1 - HOLDOUT))
    earlier, held = ordered[:cut], ordered[cut:]
    model, _ = train(earlier, kind)
    planted = plant_outliers(held, seed, max(10, len(held) // 20))
    history = History(earlier)
    normal_scores = model.scores(employee_vectors(model, held, history)[0])
    planted_scores = model.scores(employee_vectors(model, [r for r, _ in planted], history)[0])
    flagged = float((normal_scores > model.threshold).mean()) if len(held) else float("nan")
    return {"validation_auc": round(roc_auc(list(planted_scores), list(normal_scores)), 4),
            "validation_rows": len(held), "validation_planted": len(planted),
            "validation_flag_rate": round(flagged, 4)}


def retrain(store: ModelStore, company: str, rows: Sequence[SpendRecord], now: datetime, kind: str = MODEL_KIND,
            floor: float = VALIDATION_FLOOR) -> Outcome:
    """Train a new version from the company's rows, validate it, store it, and promote it if it clears `floor`."""
    if len(rows) < MIN_ROWS:
        reason = f"too little history ({len(rows)} expense rows, {MIN_ROWS} needed): rules only"
        log.info("anomaly model for company %s not trained: %s", company, reason)
        return Outcome(company, None, False, reason)
    import sklearn

    start = clock.perf_counter()
    metrics = validate(rows, kind)
    model, _ = train(rows, kind)
    seconds = clock.perf_counter() - start
    data = dumps(model)
    version = version_of(now)
    dates = [r.receipt_date for r in rows if r.receipt_date]
    promoted = metrics["validation_auc"] >= floor
    reason = "promoted" if promoted else (
        f"not promoted: validation ROC AUC {metrics['validation_auc']} is below the floor {floor}")
    metadata = {"version": version, "company": company, "kind": kind, "rows": len(rows),
                "window": {"from": min(dates).isoformat() if dates else None,
                           "to": max(dates).isoformat() if dates else None,
                           "submitted_to": max(r.submitted_at for r in rows).isoformat()},
                "metrics": {**metrics, "train_seconds": round(seconds, 3), "threshold": model.threshold},
                "sklearn": sklearn.__version__, "features": list(FEATURES), "sha256": sha256(data),
                "trained_at": now.astimezone(UTC).isoformat(), "promoted": promoted, "reason": reason}
    store.put_version(company, version, data, metadata)
    if promoted:
        store.promote(company, version)
    log.info("anomaly model %s for company %s: %s", version, company, reason)
    return Outcome(company, version, promoted, reason, metadata)


def metadata_json(metadata: dict) -> bytes:
    return json.dumps(metadata, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


TRAINING_DAYS = 365  # the training window: the company's claims submitted within the last year
DEPARTMENT_CLAIMS = 5000  # at most this many claims a department (newest first) are read


def company_rows(claims: Any, directory: Any, policy: Any, now: datetime,
                 departments: Sequence[Any] | None = None) -> list[SpendRecord]:
    """The company's scored claims of the last `TRAINING_DAYS`, as rows (read by department: Queries of the
    claims table's by-department index, never a Scan). Claims that no longer count (rejected, failed) and claims
    not scored yet are left out, as in scoring's own history. `departments`: the company's (default: every one
    the directory lists)."""
    from datetime import timedelta

    from chalicelib.domain.anomaly import record_from_expense
    from chalicelib.domain.money import CurrencyMismatch, NoFxRate
    from chalicelib.services.scoring import counts

    since = now - timedelta(days=TRAINING_DAYS)
    if departments is None:
        departments = [d for d, _ in directory.departments()] if hasattr(directory, "departments") else []
    people: dict[str, Any] = {}
    rows: list[SpendRecord] = []
    for department in departments:
        for claim in claims.by_department(department.department_id, DEPARTMENT_CLAIMS):
            when = claim.submitted_at or claim.updated_at
            if not counts(claim) or when < since:
                continue
            if claim.employee_id not in people:
                people[claim.employee_id] = directory.employee(claim.employee_id)
            for expense in claim.expenses:
                try:
                    rows.append(record_from_expense(expense, claim, people[claim.employee_id], policy.fx,
                                                    department.cost_centre))
                except (NoFxRate, CurrencyMismatch):
                    continue
    return rows


def retrain_companies(store: ModelStore, claims: Any, directory: Any, now: datetime) -> list[Outcome]:
    """Every company of the directory (its departments' `company`), each from its own departments' claims: a new
    version per company with its window and metrics, or "rules only" with the reason. Each run is recorded
    (`store.put_run`: when, how many claims and rows, the outcome) so finance can see what each company is scored
    with and why. One company's failure is recorded and does not stop the others."""
    from chalicelib.services.scoring import company_policy

    by_company: dict[str, list[Any]] = {}
    for department, _ in directory.departments():
        by_company.setdefault(department.company, []).append(department)
    outcomes = []
    for company, departments in sorted(by_company.items()):
        try:
            policy = company_policy(directory, company)
            rows = company_rows(claims, directory, policy, now, departments)
            outcome = retrain(store, company, rows, now)
        except Exception as exc:  # noqa: BLE001 - recorded and logged; the next company is still retrained
            log.error("anomaly retrain failed for company %s: %s", company, type(exc).__name__, exc_info=exc)
            rows, outcome = [], Outcome(company, None, False, f"retrain failed: {type(exc).__name__}")
        run = {"company": company, "ran_at": now.astimezone(UTC).isoformat(), "rows": len(rows),
               "claims": len({r.claim_id for r in rows}), "version": outcome.version, "promoted": outcome.promoted,
               "reason": outcome.reason, "rules_only": outcome.version is None,
               "min_rows": MIN_ROWS}
        store.put_run(company, run)
        outcome.metadata = {**outcome.metadata, "run": run}
        outcomes.append(outcome)
    return outcomes


def models_in_use(store: ModelStore | None, directory: Any) -> list[dict]:
    """What each company of the directory is scored with, for finance's page: the promoted model (when it was
    trained, its training window, its validation ROC AUC, rows) or rules only with why (too little history: how many
    claims; none trained yet; the latest version not promoted) — facts, worded by the page in the reader's language."""
    companies = sorted({d.company for d, _ in directory.departments()})
    out = []
    for company in companies:
        current = store.current_metadata(company) if store is not None else None
        run = store.last_run(company) if store is not None else None
        entry: dict = {"company": company, "model": current is not None, "last_run_at": run and run["ran_at"]}
        if current is not None:
            entry.update(trained_at=current["trained_at"], window_from=current["window"]["from"],
                         window_to=current["window"]["to"], auc=current["metrics"]["validation_auc"],
                         rows=current["rows"])
        if run is not None and run.get("rules_only"):
            entry.update(why="too_little_history", claims=run["claims"], rows_read=run["rows"], min_rows=MIN_ROWS)
        elif run is not None and not run.get("promoted") and current is None:
            entry.update(why="not_promoted")
        elif current is None:
            entry.update(why="not_trained")
        out.append(entry)
    return out
