"""Receipt images for the pipeline tests (the same renderer the demo uses)."""

from harness.sample_receipts import receipt_png

__all__ = ["receipt_png"]
