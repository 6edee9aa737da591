"""What the employee wrote, read as claim hints: the purpose, the category and the cost centre, from the subject
and body in English or Chinese (full-width characters and Re:/Fwd:/回覆 prefixes included)."""

from __future__ import annotations

import re
import unicodedata

PURPOSE_MAX_CHARS = 200

CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entertainment", ("entertainment", "entertain", "client dinner", "應酬", "应酬", "招待", "款待")),
    ("taxi", ("taxi", "cab", "uber", "的士", "計程車", "计程车", "出租車", "出租车")),
    ("travel", ("travel", "trip", "flight", "hotel", "差旅", "出差", "機票", "机票", "酒店")),
    ("meals", ("meal", "meals", "lunch", "dinner", "breakfast", "膳食", "午餐", "晚餐", "早餐", "餐")),
)
_CC_LABELLED = re.compile(r"(?:成本中心|cost\s*cent(?:re|er)|\bCC\b)\s*[:：#]?\s*(?:CC-?)?(\d{3,6})\b", re.IGNORECASE)
_CC_CODE = re.compile(r"\bCC-?(\d{3,6})\b", re.IGNORECASE)
_PURPOSE_LABEL = re.compile(r"^\s*(?:purpose|用途|事由|目的)\s*[:：]\s*(.+)$", re.IGNORECASE | re.MULTILINE)
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|tr|回覆|回复|答复|轉寄|转发|轉發)\s*[:：]\s*)+", re.IGNORECASE)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")  # full-width ＣＣ－２１００ and colons from Chinese IMEs


def cost_centre_of(*texts: str) -> str | None:
    for text in texts:
        text = _normalise(text)
        match = _CC_LABELLED.search(text) or _CC_CODE.search(text)
        if match:
            return f"CC-{match.group(1)}"
    return None


def category_of(*texts: str) -> str | None:
    for text in texts:
        lowered = _normalise(text).casefold()
        for category, words in CATEGORY_KEYWORDS:
            for word in words:
                if word.isascii():
                    if re.search(rf"\b{re.escape(word)}\b", lowered):
                        return category
                elif word in lowered:
                    return category
    return None


def purpose_of(subject: str, body: str) -> str:
    """An explicit ``Purpose:``/``用途：`` line wins; else the subject without Re:/Fwd: prefixes."""
    labelled = _PURPOSE_LABEL.search(_normalise(body))
    text = labelled.group(1) if labelled else _REPLY_PREFIX.sub("", _normalise(subject))
    text = _CC_CODE.sub(" ", _CC_LABELLED.sub(" ", text))  # the cost centre is its own field
    text = " ".join(text.split()).strip(" -,;:|/")
    return text[:PURPOSE_MAX_CHARS]
