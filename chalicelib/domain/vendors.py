"""The vendor directory: canonical merchant names, matched from what a receipt prints in 繁/简/English.

Why a directory and not better OCR: a chain prints its name in a logo the OCR half-reads ("Falrwood", "山公员商店",
"CIRCLE"), in either script, with a branch after it. Matching the header against known names gives one canonical
name per merchant, so reports, duplicate checks and the partner-vendor rule (anomaly scoring) see one vendor, not
five spellings. Finance extends the directory; an unknown merchant keeps the name it printed.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator
from rapidfuzz import fuzz, process

from .expense import CATEGORIES

SEED_PATH = Path(__file__).parent / "data" / "vendors.json"

#: A fuzzy match (OCR-damaged name) must be this close to a known name; exact containment scores 1.0.
MATCH_THRESHOLD = 0.84
#: Two different vendors scoring within this margin of each other: the receipt is ambiguous, so no match.
AMBIGUITY_MARGIN = 0.03
#: The header (where a merchant prints its name) is this share of the lines, but never fewer than HEADER_MIN_LINES.
HEADER_SHARE = 0.3
HEADER_MIN_LINES = 5
#: Folded-key lengths below which a name is too short to match at all ("OK", "MR"); CJK carries more per
#: character, so two characters suffice.
MIN_LATIN_LEN = 3
MIN_CJK_LEN = 2
#: Fuzzy matching needs longer names: one OCR slip in "Taxi" is already "TAX".
MIN_FUZZY_LATIN = 6
MIN_FUZZY_CJK = 4
#: When deciding which scripts the receipt printed, a name counts as printed at this (looser) closeness: the
#: vendor is already known, the question is only whether its Chinese or English name was on the paper.
PRINTED_THRESHOLD = 0.6
#: A header line names the merchant when the name is most of it; the printed vendor line needs no such share.
HEADER_NAME_SHARE = 0.6
#: Header lines that are an address or a phone number never name the merchant ("88 Broadway, Mei Foo").
_ADDRESS = re.compile(
    r"(?i)(shop|unit|flat|room|rm|block|blk|floor|[gl\d]+/f|road|rd|street|st|avenue|ave|tel|fax|phone)"
    r"|地址|電話|电话|傳真|传真|號舖|號鋪|号铺|\d+\s*[號号樓楼室]"
)

Script = Literal["zh-Hant", "zh-Hans", "en"]
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
# OCR confusions on Latin receipt text, applied to both sides so either spelling folds to the same key
_LATIN_CONFUSIONS = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "∩": "n"})
_CJK_VARIANTS = str.maketrans({"閤": "閣", "舖": "鋪", "気": "氣", "囗": "口"})
# branch forms: "(青衣)", "（Tsing Yi）", "·淘大店", " - Tsing Yi", and an opened bracket the line cut off
_BRANCH = re.compile(
    r"\s*[(（\[【][^)）\]】]*[)）\]】]"
    r"|\s*[(（\[【][^)）\]】]*$"
    r"|\s*[·・‧]\s*\S+$"
    r"|\s+[-–—]\s+.+$"
)


@functools.lru_cache(maxsize=1)
def _chinese_tables() -> tuple[dict[int, str], frozenset[str], frozenset[str]]:
    """OpenCC's character tables (opencc-purepy ships them; read directly, its phrase engine is not needed):
    the 繁→简 map, and the characters that exist only in simplified and only in traditional."""
    folder = resources.files("opencc_purepy") / "dicts"

    def pairs(name: str) -> dict[str, str]:
        rows = (line.split("\t") for line in (folder / name).read_text(encoding="utf-8").splitlines())
        return {r[0]: r[1].split()[0] for r in rows if len(r) == 2 and len(r[0]) == 1 and r[1].strip()}

    t2s, s2t = pairs("TSCharacters.txt"), pairs("STCharacters.txt")
    simplified_only = frozenset(c for c, t in s2t.items() if t != c and c not in t2s)
    traditional_only = frozenset(c for c, s in t2s.items() if s != c and c not in s2t)
    return str.maketrans(t2s), simplified_only, traditional_only


@functools.lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Width, case, script and OCR look-alikes folded, spacing and punctuation kept (for word boundaries).

    Chinese folds 繁→简 because that direction is many-to-one (麵 and 面 both become 面), so a name printed in
    either script meets the directory's name in the other."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CJK_VARIANTS)
    text = text.translate(_chinese_tables()[0])
    return text.translate(_LATIN_CONFUSIONS).replace("rn", "m")


@functools.lru_cache(maxsize=8192)
def key(text: str) -> str:
    """The folded text with spaces and punctuation removed: "PARK N SHOP" == "PARKnSHOP"."""
    return re.sub(r"[\W_]+", "", fold(text))


def strip_branch(text: str) -> str:
    """"Pick Coffee (Tsing Yi)" → "Pick Coffee"; "阿城鵝肉·淘大店" → "阿城鵝肉" (a chain's name has no branch)."""
    stripped = _BRANCH.sub("", text).strip()
    return stripped or text.strip()


def _long_enough(k: str) -> bool:
    return len(k) >= (MIN_CJK_LEN if _CJK.search(k) else MIN_LATIN_LEN)


def _script_of(name: str) -> Literal["zh", "en"]:
    return "zh" if _CJK.search(name) else "en"


class Vendor(BaseModel):
    """One merchant. ``names`` are what its receipts print; ``aliases`` other spellings it may be read as."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    names: dict[Script, str]
    aliases: tuple[str, ...] = ()
    category: str = "general"
    partner_for: tuple[str, ...] = ()
    source: Literal["seed", "finance"] = "seed"
    #: the brand's own lock-up puts English first ("Sam's Club 山姆会员商店")
    en_first: bool = False
    #: a payment or delivery platform (Octopus, foodpanda): its name on a receipt rarely names the merchant, so it
    #: is matched only from the printed vendor line and never replaces another name printed there
    platform: bool = False
    #: a kind of merchant rather than one (的士 Taxi): like a platform, it names the vendor only when the printed
    #: line says no more than that, so "城市的士 City Taxi" keeps its own name
    generic: bool = False

    @field_validator("names")
    @classmethod
    def _some_name(cls, value: dict[str, str]) -> dict[str, str]:
        value = {k: v.strip() for k, v in value.items() if v and v.strip()}
        if not value:
            raise ValueError("a vendor needs at least one name")
        return value

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}")
        return value

    @field_validator("partner_for")
    @classmethod
    def _known_partner_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"partner_for has unknown categories {unknown}")
        return value

    def all_names(self) -> list[str]:
        return [*dict.fromkeys([*self.names.values(), *self.aliases])]

    def conventional_name(self) -> str:
        """"中文 English" (Traditional first, as Hong Kong prints it) from whatever names the entry has."""
        zh = self.names.get("zh-Hant") or self.names.get("zh-Hans")
        return self._join(zh, self.names.get("en"))

    def _join(self, zh: str | None, en: str | None) -> str:
        parts = [en, zh] if self.en_first else [zh, en]
        return " ".join(p for p in parts if p)


class VendorMatch(BaseModel):
    """Why the directory thinks this receipt is from ``vendor``."""

    vendor: Vendor
    score: float = Field(ge=0.0, le=1.0)
    alias: str
    why: str


class _Candidate(NamedTuple):
    text: str
    source: Literal["printed", "header"]


def _header(lines: list[str]) -> list[str]:
    n = max(HEADER_MIN_LINES, math.ceil(HEADER_SHARE * len(lines)))
    return [t for t in lines[:n] if t and t.strip() and not _ADDRESS.search(t)]


def _script_runs(text: str) -> list[str]:
    """"大快活 Falrwood" → ["大快活", "Falrwood"]: one line often prints both names side by side."""
    runs = re.findall(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\d]+|[^\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+", text)
    return [r.strip() for r in runs if r.strip()]


def _candidates(lines: list[str], printed: str | None) -> list[_Candidate]:
    """The printed vendor line, the header lines, adjacent header pairs (a logo split over two lines) and each
    line's script runs, with and without a branch suffix."""
    out: list[_Candidate] = []
    header = _header(lines)
    texts: list[tuple[str, Literal["printed", "header"]]] = []
    if printed:
        texts.append((printed, "printed"))
    texts += [(t, "header") for t in header]
    texts += [(f"{a} {b}", "header") for a, b in zip(header, header[1:], strict=False)]
    for text, source in texts:
        runs = _script_runs(text)
        variants = dict.fromkeys([text, strip_branch(text), *runs, *map(strip_branch, runs)])  # ordered, unique
        out += [_Candidate(v, source) for v in variants if v.strip()]
    return out


def _latin_word_match(alias: str, text: str) -> bool:
    """A Latin name matches inside a line only as whole words ("KFC" not in "KFCX"), spacing ignored."""
    a = re.sub(r"[\W_]+", "", fold(alias))
    words = re.findall(r"[^\W_]+", fold(text))
    for i in range(len(words)):
        joined = ""
        for w in words[i:]:
            joined += w
            if joined == a:
                return True
            if len(joined) >= len(a):
                break
    return False


def _best_possible_ratio(a: str, b: str) -> float:
    return 2 * min(len(a), len(b)) / (len(a) + len(b)) if a and b else 0.0


def name_score(alias: str, text: str) -> float:
    """How well ``text`` (a line or part of one) reads as ``alias``: 1.0 when it contains it, else the fuzzy
    ratio of the whole text (OCR damage), 0 for names too short to trust."""
    a, t = key(alias), key(text)
    if not a or not t or not _long_enough(a):
        return 0.0
    if a == t:
        return 1.0
    if a in t:
        if _CJK.search(a):
            return 1.0
        if _latin_word_match(alias, text):
            return 1.0
    shortest = MIN_FUZZY_CJK if _CJK.search(a) else MIN_FUZZY_LATIN
    if len(a) < shortest or len(t) < shortest - 1:
        return 0.0
    return fuzz.ratio(a, t) / 100


class VendorDirectory:
    """Known vendors, matched from a receipt's lines. Immutable: ``with_entries`` returns a new directory."""

    def __init__(self, vendors: Iterable[Vendor]) -> None:
        self._by_id: dict[str, Vendor] = {}
        for v in vendors:
            self._by_id[v.id] = v
        self._names = [(v, name, k) for v in self._by_id.values() for name in v.all_names()
                       if _long_enough(k := key(name))]
        # where to look a candidate's names up: by key (names it contains) and by length (names it may read as)
        self._by_key: dict[str, list[int]] = {}
        self._by_len: dict[int, list[int]] = {}
        for i, (_, _, k) in enumerate(self._names):
            self._by_key.setdefault(k, []).append(i)
            self._by_len.setdefault(len(k), []).append(i)

    def _within_reach(self, cand_key: str) -> list[int]:
        """The names (by index, in directory order) that ``cand_key`` contains or that are near enough its length to
        reach MATCH_THRESHOLD: the same names the plain loop over every name would keep, found without it."""
        found: set[int] = set()
        n = len(cand_key)
        for length in self._by_len:
            if length <= n:
                for start in range(n - length + 1):
                    found.update(self._by_key.get(cand_key[start:start + length], ()))
        low = math.floor(n * MATCH_THRESHOLD / (2 - MATCH_THRESHOLD))
        high = math.ceil(n * (2 - MATCH_THRESHOLD) / MATCH_THRESHOLD)
        near = [i for length in range(max(low, 1), high + 1) for i in self._by_len.get(length, ())]
        # of those, the ones whose similarity reaches the threshold (rapidfuzz's C loop; name_score decides after)
        hits = process.extract(cand_key, [self._names[i][2] for i in near], scorer=fuzz.ratio,
                               score_cutoff=MATCH_THRESHOLD * 100 - 0.01, limit=None)
        found.update(near[j] for _, _, j in hits)
        return sorted(found)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, vendor_id: str) -> Vendor | None:
        return self._by_id.get(vendor_id)

    @property
    def vendors(self) -> list[Vendor]:
        return list(self._by_id.values())

    def with_entries(self, extra: Iterable[Vendor]) -> VendorDirectory:
        """The directory with finance's entries added; an entry with a seed's id replaces it."""
        return VendorDirectory([*self._by_id.values(), *extra])

    @classmethod
    def from_json(cls, path: Path = SEED_PATH) -> VendorDirectory:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(Vendor.model_validate(v) for v in data["vendors"])

    def match(self, text_lines: list[str], printed_vendor: str | None) -> VendorMatch | None:
        """The vendor whose name the printed vendor line or a header line carries, or None when none does or
        when two vendors fit equally well (better no name than the wrong chain)."""
        # per vendor: (score, from the printed line, length of the matched name), the name and where
        best: dict[str, tuple[tuple[float, bool, int], str, _Candidate]] = {}
        for cand in _candidates(text_lines, printed_vendor):
            cand_key = key(cand.text)
            for i in self._within_reach(cand_key):  # most names cannot reach the threshold on length alone
                vendor, name, name_key = self._names[i]
                if (vendor.platform or vendor.generic) and cand.source != "printed":
                    continue
                if cand.source == "header" and len(name_key) < HEADER_NAME_SHARE * len(cand_key):
                    continue  # the line mentions the name ("Tsing Yi MTR Station"), it is not the name
                score = name_score(name, cand.text)
                if score < MATCH_THRESHOLD:
                    continue
                rank = (score, cand.source == "printed", len(name_key))
                if vendor.id not in best or rank > best[vendor.id][0]:
                    best[vendor.id] = (rank, name, cand)
        if not best:
            return None
        ranked = self._drop_subsumed(sorted(best.items(), key=lambda kv: kv[1][0], reverse=True))
        named = [r for r in ranked if not self._by_id[r[0]].generic]
        ranked = named or ranked  # a kind of merchant (的士) yields to a named one found beside it (HKTaxi 香港的士)
        vendor_id, ((score, _, _), name, cand) = ranked[0]
        vendor = self._by_id[vendor_id]
        if len(ranked) > 1 and ranked[1][1][0][0] >= score - AMBIGUITY_MARGIN:
            return None
        if (vendor.platform or vendor.generic) and printed_vendor and self._names_more_than(vendor, printed_vendor):
            return None
        where = "the printed vendor line" if cand.source == "printed" else "a header line"
        how = "contains" if score == 1.0 else f"reads as (similarity {score:.2f})"
        return VendorMatch(vendor=vendor, score=round(score, 3), alias=name, why=f"{where} {how} {name!r}")

    @staticmethod
    def _drop_subsumed(ranked: list) -> list:
        """A vendor whose matched name is part of another matched name is the less specific reading."""
        keys = [key(r[1][1]) for r in ranked]
        return [r for i, r in enumerate(ranked)
                if not any(j != i and keys[i] in keys[j] and keys[i] != keys[j] for j in range(len(ranked)))]

    @staticmethod
    def _names_more_than(platform: Vendor, printed: str) -> bool:
        """The printed vendor line names something besides the platform ("阿城鵝肉 keeta")."""
        rest = key(printed)
        for name in sorted(platform.all_names(), key=len, reverse=True):
            rest = rest.replace(key(name), "")
        return bool(rest) and _long_enough(rest)

    def canonical_name(self, vendor: Vendor, text_lines: list[str] | None = None,
                       printed_vendor: str | None = None) -> str:
        """The vendor's names in the scripts printed on this receipt (simplified when the receipt is), in the
        brand's order; the conventional "中文 English" when the lines do not show which scripts were printed."""
        texts = [*_header(text_lines or []), *([printed_vendor] if printed_vendor else [])]
        if not texts:
            return vendor.conventional_name()
        cands = [c.text for c in _candidates(text_lines or [], printed_vendor)]
        printed = {"zh": False, "en": False}
        for name in vendor.all_names():
            script = _script_of(name)
            if not printed[script] and any(_printed_score(name, c) >= PRINTED_THRESHOLD for c in cands):
                printed[script] = True
        if not any(printed.values()):
            return vendor.conventional_name()
        zh = None
        if printed["zh"]:
            simplified = _looks_simplified(text_lines or texts)
            zh = (vendor.names.get("zh-Hans") if simplified else None) or vendor.names.get("zh-Hant") \
                or vendor.names.get("zh-Hans")
        en = vendor.names.get("en") if printed["en"] else None
        if not zh and not en:
            return vendor.conventional_name()
        return vendor._join(zh, en)


def _printed_score(name: str, text: str) -> float:
    """Looser than ``name_score``: a CJK name counts as printed when most of its Chinese characters are on a
    short line (a logo read with one character wrong: "山公员商店")."""
    a = set(_CJK.findall(key(name)))
    if not a:
        return name_score(name, text)
    t = _CJK.findall(key(text))
    if len(a) < MIN_CJK_LEN or len(t) > 3 * len(a):
        return 1.0 if key(name) in key(text) else 0.0
    shared = len(a & set(t))
    return shared / len(a) if shared >= MIN_CJK_LEN else 0.0


def _looks_simplified(lines: list[str]) -> bool:
    """The receipt is in simplified Chinese: more of its characters exist only in simplified than only in
    traditional (characters both scripts share do not count); Japanese shinjitai is not simplified Chinese."""
    joined = "".join(lines)
    text = "".join(re.findall(r"[\u3400-\u9fff]", joined))
    if not text or re.search(r"[\u3040-\u30ff]", joined):  # kana: Japanese, whose kanji are not simplified
        return False
    _, simplified_chars, traditional_chars = _chinese_tables()
    simplified_only = sum(c in simplified_chars for c in text)
    traditional_only = sum(c in traditional_chars for c in text)
    return simplified_only >= 2 and simplified_only > traditional_only


@functools.lru_cache(maxsize=1)
def seed_directory() -> VendorDirectory:
    """The shipped directory, loaded once per process."""
    return VendorDirectory.from_json()
