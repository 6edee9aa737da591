"""The perceptual hash of a receipt photo: a re-photograph of one paper (tilted, re-lit, re-cropped, another
phone's resolution and JPEG quality, stored sideways with its EXIF tag) hashes within the rule's threshold; a
different receipt printed by another layout does not; a blank page has none."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageChops, ImageEnhance, ImageFilter

from chalicelib.domain.anomaly.duplicates import REPHOTO_DISTANCE
from chalicelib.extraction.documents import decode_image
from chalicelib.extraction.image_hash import INK_WINDOW, _closing, distance, ink_map, receipt_hash, tilt
from tools import hk_layouts
from tools.hk_layouts import NoFontError


@pytest.fixture(scope="module")
def paper() -> Image.Image:
    try:
        printed = hk_layouts.make("cha_chaan_teng", 7, 0)
        return hk_layouts.render(printed, hk_layouts.faces_for(printed.script)[0])
    except NoFontError as exc:
        pytest.skip(str(exc))


def _jpeg(image: Image.Image, quality: int, orientation: int = 1) -> Image.Image:
    buf = io.BytesIO()
    if orientation == 1:
        image.save(buf, format="JPEG", quality=quality)
    else:
        exif = Image.Exif()
        exif[hk_layouts.EXIF_ORIENTATION_TAG] = orientation
        image.transpose(hk_layouts.STORE_TURNED[orientation]).save(buf, format="JPEG", quality=quality,
                                                                    exif=exif.tobytes())
    return decode_image(buf.getvalue())


def _photo(paper: Image.Image, seed: str, *, tilt: float = 0.0, light: float = 1.0, scale: float = 1.0,
           quality: int = 85, orientation: int = 1) -> Image.Image:
    shot = hk_layouts.desk_photo(paper, random.Random(seed))
    w, h = shot.size
    shot = shot.crop((int(w * 0.03), int(h * 0.02), int(w * 0.98), h))
    shot = shot.rotate(tilt, Image.Resampling.BICUBIC, expand=True, fillcolor=(60, 60, 60))
    shot = ImageEnhance.Brightness(shot).enhance(light)
    shot = shot.resize((int(shot.width * scale), int(shot.height * scale)), Image.Resampling.BILINEAR)
    return _jpeg(shot, quality, orientation)


def test_a_rephotographed_receipt_hashes_within_the_threshold(paper):
    first = receipt_hash(_photo(paper, "phone-a"))
    again = [
        _photo(paper, "phone-b", tilt=4.0, light=0.7, scale=0.6, quality=55),
        _photo(paper, "phone-c", tilt=-3.0, light=1.2, scale=0.8, quality=70, orientation=6),
        _photo(paper, "phone-d", scale=0.5, quality=45, orientation=3),
    ]
    assert first is not None and len(first) == 16
    assert [distance(first, receipt_hash(p)) <= REPHOTO_DISTANCE for p in again] == [True, True, True]


def test_a_receipt_of_another_layout_hashes_far(paper):
    first = receipt_hash(_photo(paper, "phone-a"))
    printed = hk_layouts.make("supermarket", 7, 0)
    other = hk_layouts.render(printed, hk_layouts.faces_for(printed.script)[0])
    assert distance(first, receipt_hash(_photo(other, "phone-a"))) > REPHOTO_DISTANCE


def test_one_receipt_of_several_on_a_page_is_hashed_in_its_region(paper):
    page = Image.new("RGB", (paper.width * 2 + 60, paper.height + 40), "white")
    page.paste(paper, (20, 20))
    printed = hk_layouts.make("taxi", 7, 0)
    page.paste(hk_layouts.render(printed, hk_layouts.faces_for(printed.script)[0]), (paper.width + 40, 20))
    left = receipt_hash(page, (0.0, 0.0, 0.5, 1.0))
    assert distance(left, receipt_hash(_photo(paper, "phone-a"))) <= REPHOTO_DISTANCE
    assert distance(left, receipt_hash(page, (0.5, 0.0, 0.5, 1.0))) > REPHOTO_DISTANCE


def test_a_blank_page_has_no_hash():
    assert receipt_hash(Image.new("RGB", (400, 600), "white")) is None


def test_the_rule_on_real_hashes_finds_the_rephotograph_and_not_the_next_customers_receipt(paper):
    from tests.unit.domain.anomaly_support import row, rules_fired

    printed = hk_layouts.make("cha_chaan_teng", 7, 0)
    nxt = hk_layouts.make("cha_chaan_teng", 7, 1)
    assert nxt.total != printed.total
    other = hk_layouts.render(nxt, hk_layouts.faces_for(nxt.script)[0])

    def read(p: hk_layouts.Printed, photo: Image.Image, vendor: str, **fields):
        return row(str(p.total), vendor=vendor, day=p.date, receipt_no=None, image_hash=receipt_hash(photo),
                   **fields)

    first = read(printed, _photo(paper, "phone-a"), printed.vendor, claim="c-old")
    again = read(printed, _photo(paper, "phone-b", tilt=5.0, light=0.75, scale=0.7, quality=60), "?? misread")
    next_customer = read(nxt, _photo(other, "phone-b"), printed.vendor)
    assert "duplicate_rephotographed" in rules_fired([again], [first])
    assert "duplicate_rephotographed" not in rules_fired([next_customer], [first])


def test_the_fast_closing_is_pillows_rank_filters_pixel_for_pixel():
    rng = random.Random(5)
    noise = Image.frombytes("L", (97, 61), bytes(rng.randrange(256) for _ in range(97 * 61)))
    slow = noise.filter(ImageFilter.MaxFilter(INK_WINDOW)).filter(ImageFilter.MinFilter(INK_WINDOW))
    assert ImageChops.difference(_closing(noise, INK_WINDOW), slow).getbbox() is None
    assert ImageChops.difference(_closing(noise, 3), noise.filter(ImageFilter.MaxFilter(3)).filter(
        ImageFilter.MinFilter(3))).getbbox() is None


@pytest.mark.parametrize("angle", [-5.0, -2.0, 0.0, 3.0])
def test_the_tilt_of_a_receipts_text_rows_is_measured_to_half_a_degree(paper, angle):
    turned = paper.convert("L").rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert abs(tilt(ink_map(turned)) + angle) <= 0.5
