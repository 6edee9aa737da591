"""PDPO data subject requests: a correction request (DPP6: a person may ask for their data to be corrected) is a
sentence from the employee, queued for their department's finance, resolved with a sentence back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class CorrectionStatus(StrEnum):
    OPEN = "open"
    CORRECTED = "corrected"
    DECLINED = "declined"


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    employee_id: str
    department_id: str
    what_is_wrong: str = Field(min_length=1, max_length=2000)
    created_at: datetime
    status: CorrectionStatus = CorrectionStatus.OPEN
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
