"""A small page (a screenshot, a low-resolution scan) is read as two overlapping halves, so the detector, which
scales its input's long side to a fixed size, sees each half twice as finely: every line must come back once, at
its place on the page, including the one the cut runs through."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageOps

from chalicelib.extraction.ocr_engine import FasterPaddleEngine, page_tiles


def test_a_small_tall_page_is_cut_into_two_overlapping_halves_that_share_out_its_height() -> None:
    (first, own1), (second, own2) = page_tiles((400, 1000), 1600)
    assert first[0] == second[0] == 0 and first[2] == second[2] == 400  # full width
    assert first[1] == 0 and second[3] == 1000
    assert second[1] < 500 < first[3]  # they overlap around the middle
    assert own1 == (0.0, 500.0) and own2[0] == 500.0 and own2[1] > 1000


def test_a_small_wide_page_is_read_whole() -> None:
    """Cut across its width, a centred line (the vendor's name) would come back as two pieces."""
    assert page_tiles((1200, 700), 1600) == []


def test_a_large_page_or_tiling_off_is_read_whole() -> None:
    assert page_tiles((1500, 2000), 1600) == []
    assert page_tiles((400, 1000), 0) == []


class _BarReader:
    """A stand-in for the OCR model: every run of rows holding dark pixels is one line whose text is its width."""

    def ocr(self, data: bytes) -> dict:
        img = ImageOps.invert(Image.open(io.BytesIO(data)).convert("L"))
        bounds, start = {}, None
        for y in range(img.height + 1):
            dark = y < img.height and img.crop((0, y, img.width, y + 1)).getbbox() is not None
            if dark and start is None:
                start = y
            elif not dark and start is not None:
                x0, _, x1, _ = img.crop((0, start, img.width, y)).getbbox()
                bounds[len(bounds)] = {"text": str(x1 - x0), "topLeftCoord": [x0, start],
                                       "bottomRightCoord": [x1, y], "confidence": 0.9}
                start = None
        return {"bounds": bounds}


def test_every_line_of_a_tiled_page_comes_back_once_at_its_place() -> None:
    page = Image.new("RGB", (400, 1000), "white")
    draw = ImageDraw.Draw(page)
    for top, width in ((100, 100), (490, 200), (800, 300)):  # the middle bar is cut by the halves' boundary
        draw.rectangle((20, top, 20 + width - 1, top + 19), fill="black")
    engine = FasterPaddleEngine(deskew=False)
    lines = engine._read_tiles(_BarReader(), page, page_tiles(page.size, 1600), 1)
    assert [ln.text for ln in lines] == ["100", "200", "300"]
    tops = [round(ln.box.top * 1000) for ln in lines]
    assert tops == [100, 490, 800]
    assert [round(ln.box.height * 1000) for ln in lines] == [20, 20, 20]
    assert all(round(ln.box.left * 400) == 20 for ln in lines)
