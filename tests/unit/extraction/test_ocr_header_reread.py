"""The header of a receipt is read a second time on its own (finer detection for the small vendor print): which
region is read again, and how its lines replace the page pass's without losing or doubling any text."""

from __future__ import annotations

from PIL import Image

from chalicelib.extraction.models import BoundingBox, OcrLine
from chalicelib.extraction.ocr_engine import _padded, _to_page, header_region, merge_header, read_coarsely


def _line(text: str, left: float, top: float, width: float = 0.3, height: float = 0.02) -> OcrLine:
    return OcrLine(text=text, confidence=0.9, box=BoundingBox(left=left, top=top, width=width, height=height))


#: A receipt occupying the middle of a 1500 x 2000 photo: text from x 0.3 to 0.7, y 0.1 to 0.9.
RECEIPT = [
    _line("SHOP", 0.3, 0.10, 0.4),
    _line("address", 0.3, 0.14, 0.4),
    _line("item 12.00", 0.3, 0.50, 0.4),
    _line("TOTAL 12.00", 0.3, 0.88, 0.4),
]


def test_the_header_region_is_the_top_share_of_the_text_widened_by_a_line_height() -> None:
    left, top, right, bottom = header_region(RECEIPT, (1500, 2000), 0.25)
    pad = 0.02 * 2000  # the median line height, in pixels
    assert left == int(0.3 * 1500 - pad) and right == int(0.7 * 1500 + pad + 1)
    assert top == int(0.10 * 2000 - 4 * pad)  # a logo above the first line read is inside
    # a quarter of the text's height (0.10 .. 0.90) below its top, plus the pad
    assert bottom == int(0.10 * 2000 + 0.25 * 0.80 * 2000 + pad + 1)


def test_no_second_read_when_it_is_off_or_there_is_no_text() -> None:
    assert header_region(RECEIPT, (1500, 2000), 0.0) is None
    assert header_region([], (1500, 2000), 0.25) is None


def test_no_second_read_when_the_header_would_not_be_detected_finer() -> None:
    # text spanning the whole width of a landscape photo: the crop's long side is the page's long side
    wide = [_line("SHOP", 0.0, 0.1, 1.0), _line("TOTAL 1.00", 0.0, 0.9, 1.0)]
    assert header_region(wide, (2000, 1500), 0.25) is None
    # the same text on a portrait page: the crop (full width, a quarter high) is 1.33 times shorter
    assert header_region(wide, (1500, 2000), 0.25) is not None


def test_the_region_stays_inside_the_page() -> None:
    edge = [_line("SHOP", 0.0, 0.0, 0.4), _line("TOTAL 1.00", 0.0, 0.98, 0.4)]
    left, top, right, bottom = header_region(edge, (1000, 2000), 0.25)
    assert (left, top) == (0, 0) and right <= 1000 and bottom <= 2000


def test_a_narrow_crop_is_padded_not_enlarged_for_the_detector() -> None:
    crop = Image.new("RGB", (400, 300), "black")
    out = _padded(crop, 1024)
    assert out.size == (1024, 300)  # the detector scales 1024 -> 1024: the crop's own resolution
    assert out.getpixel((10, 10)) == (0, 0, 0) and out.getpixel((1000, 10)) == (255, 255, 255)
    tall = _padded(Image.new("RGB", (300, 400)), 1024)
    assert tall.size == (300, 1024)
    big = Image.new("RGB", (1400, 300))
    assert _padded(big, 1024) is big


def test_a_line_read_in_the_crop_gets_page_coordinates() -> None:
    line = _line("SHOP", 0.5, 0.25, 0.5, 0.5)
    moved = _to_page(line, (100, 200, 300, 400), (1000, 1000))
    assert moved.text == "SHOP"
    assert (moved.box.left, moved.box.top, moved.box.width, moved.box.height) == (0.2, 0.25, 0.1, 0.1)


REGION = BoundingBox(left=0.25, top=0.05, width=0.5, height=0.3)


def test_header_lines_replace_the_page_lines_they_cover_and_nothing_is_doubled() -> None:
    page = [
        _line("SH0P", 0.3, 0.10, 0.4),  # misread by the coarse pass
        _line("TOTAL 12.00", 0.3, 0.88, 0.4),
    ]
    header = [_line("SHOP", 0.3, 0.10, 0.4)]
    merged = merge_header(page, header, REGION)
    assert [ln.text for ln in merged] == ["SHOP", "TOTAL 12.00"]


def test_one_coarse_line_split_in_two_by_the_second_read_is_not_kept_twice() -> None:
    page = [_line("TAMJAI SAMGOR 三哥", 0.3, 0.10, 0.4)]
    header = [_line("TAMJAI SAMGOR", 0.3, 0.10, 0.25), _line("三哥", 0.57, 0.10, 0.13)]
    assert [ln.text for ln in merge_header(page, header, REGION)] == ["TAMJAI SAMGOR", "三哥"]


def test_page_lines_the_second_read_missed_stay() -> None:
    page = [_line("SHOP", 0.3, 0.10, 0.4), _line("Tel 2345 6789", 0.3, 0.20, 0.4)]
    header = [_line("SHOP", 0.3, 0.10, 0.4)]
    assert [ln.text for ln in merge_header(page, header, REGION)] == ["SHOP", "Tel 2345 6789"]


def test_a_line_cut_by_the_bottom_edge_of_the_crop_is_taken_from_the_page_pass() -> None:
    # the region ends at y 0.35; a line at 0.34..0.36 is cut in the crop, whole in the page pass
    page = [_line("SHOP", 0.3, 0.10, 0.4), _line("Date 01/02/2025", 0.3, 0.34, 0.4)]
    header = [_line("SHOP", 0.3, 0.10, 0.4), _line("Dale 0l/02/2025", 0.3, 0.34, 0.4, 0.01)]
    assert [ln.text for ln in merge_header(page, header, REGION)] == ["SHOP", "Date 01/02/2025"]


def test_nothing_read_again_leaves_the_page_lines_as_they_were() -> None:
    page = [_line("TOTAL 12.00", 0.3, 0.88, 0.4), _line("SHOP", 0.3, 0.10, 0.4)]
    assert merge_header(page, [], REGION) == page


def test_merged_lines_are_in_reading_order() -> None:
    page = [_line("SHOP", 0.3, 0.10, 0.4), _line("TOTAL 12.00", 0.3, 0.88, 0.4)]
    header = [_line("Branch", 0.3, 0.14, 0.4), _line("SHOP", 0.3, 0.10, 0.4)]
    assert [ln.text for ln in merge_header(page, header, REGION)] == ["SHOP", "Branch", "TOTAL 12.00"]


def test_the_header_is_read_again_only_when_the_page_pass_read_it_small_or_unsurely() -> None:
    region = header_region(RECEIPT, (1500, 2000), 0.25)
    # lines 0.02 of a 2000 px page high: 40 px, 16 px at an 800 px detection, 12.8 px at 640 px
    assert not read_coarsely(RECEIPT, region, (1500, 2000), 800)
    assert read_coarsely(RECEIPT, region, (1500, 2000), 640)
    unsure = [line.model_copy(update={"confidence": 0.6}) for line in RECEIPT]
    assert read_coarsely(unsure, region, (1500, 2000), 800)
    assert read_coarsely([RECEIPT[-1]], region, (1500, 2000), 800)  # nothing found in the header at all
