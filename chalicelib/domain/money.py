"""Money is a Decimal amount with its ISO 4217 currency; never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.domain.currencies import MINOR_UNITS as _MINOR_UNITS  # ISO 4217; others default to 2 decimals

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class CurrencyMismatch(ValueError):
    pass


class NoFxRate(ValueError):
    """A real currency finance has not configured a rate for: the claim cannot be valued in HKD."""

    def __init__(self, currency: str):
        super().__init__(f"no HKD exchange rate is configured for {currency}")
        self.currency = currency


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: CurrencyCode

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("money must not be a float; pass a Decimal or a string")
        return value

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        return cls(amount=Decimal(str(amount)), currency=currency.upper())

    def quantized(self) -> Money:
        places = _MINOR_UNITS.get(self.currency, 2)
        exp = Decimal(1).scaleb(-places)
        return Money(amount=self.amount.quantize(exp, rounding=ROUND_HALF_UP), currency=self.currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} + {other.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.currency} {self.quantized().amount:,}"


class FxTable(BaseModel):
    """HKD per one unit of each currency, as configured by finance (not fetched live)."""

    hkd_per_unit: dict[str, Decimal]

    def to_hkd(self, money: Money) -> Money:
        if money.currency == "HKD":
            return money.quantized()
        rate = self.hkd_per_unit.get(money.currency)
        if rate is None:
            raise NoFxRate(money.currency)
        return Money(amount=money.amount * rate, currency="HKD").quantized()


DEFAULT_FX = FxTable(
    hkd_per_unit={
        "USD": Decimal("7.80"),
        "CNY": Decimal("1.08"),
        "MOP": Decimal("0.97"),
        "TWD": Decimal("0.24"),
        "JPY": Decimal("0.052"),
        "SGD": Decimal("5.80"),
        "MYR": Decimal("1.75"),
        "EUR": Decimal("8.40"),
        "GBP": Decimal("9.90"),
    }
)
