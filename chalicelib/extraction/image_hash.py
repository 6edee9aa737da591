"""A perceptual hash of a receipt photo: the same paper re-photographed (another crop, a small tilt, other light,
another phone's resolution and JPEG quality) gives a hash a few bits away; another receipt gives one far away.

Why our own and not ``imagehash``: that library needs numpy and scipy, which the extraction image does not ship
(Pillow does), and its pHash hashes the whole frame, so the desk around the slip and the crop decide the hash.
Here the receipt is normalised before hashing, all in Pillow's C filters plus an 8x8 DCT in Python:

1. grey, long side to ``WORK_SIDE`` px;
2. the *ink*: a morphological black-hat (closing minus the image) keeps strokes thinner than the window and drops
   step edges (the paper's border against the desk), smooth shadows and light gradients; divided by the closing,
   so a shadowed line counts as much as a lit one;
3. the tilt: text lines run across the slip, so the ink's row profile is sharpest when it is level: the best
   small tilt (±``MAX_TILT``°) is undone. Quarter and half turns are undone before, as for the OCR: EXIF rotation
   in ``documents.decode_image``, a sideways or upside-down page by ``service.read_upright``'s retries;
4. the crop: the box holding the ink's mass (trimmed quantiles), so the margin and desk around it do not count;
5. a DCT pHash (Zauner 2010): the ink box at 32x32, the 8x8 lowest frequencies without DC, each bit = above the
   median: 64 bits, written as 16 hex digits.

``bench/rephoto.py`` measures it (distances of re-photographs and of other receipts of the same layout, hash
time per image).
"""

from __future__ import annotations

import math

from PIL import Image, ImageChops, ImageMath, ImageStat

WORK_SIDE = 640
#: Strokes thinner than this (px at WORK_SIDE) count as ink: print at receipt scale is 1-4 px.
INK_WINDOW = 7
MAX_TILT = 8.0
#: The ink box keeps the middle of the ink's mass on each axis (a speck of dirt at the edge does not move it).
TRIM = 0.06
HASH_BITS = 64
DCT_SIZE = 32
LOW = 8


def ink_map(image: Image.Image) -> Image.Image:
    """Dark strokes as bright pixels (0..255), light and shadow divided out."""
    grey = image.convert("L")
    scale = WORK_SIDE / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
                           Image.Resampling.BOX)
    closing = _closing(grey, INK_WINDOW)
    hat = ImageChops.subtract(closing, grey)
    ratio = ImageMath.lambda_eval(lambda a: a["hat"] * 255 / (a["closing"] + 16),
                                  hat=hat.convert("F"), closing=closing.convert("F"))
    ink = ratio.convert("L")
    return ink.point(lambda v: 0 if v < 40 else min(255, v * 2))  # paper grain and JPEG ringing are not ink


def _dilate(image: Image.Image, size: int) -> Image.Image:
    """Greyscale dilation by a ``size`` x ``size`` square, as ``ImageFilter.MaxFilter(size)`` (pixel for pixel) but
    separable, in shifted copies: 4 x size/2 C passes instead of size² per pixel (3 ms instead of 90 ms at 640 px).
    Outside the image a shifted copy is black, which never wins a maximum, as MaxFilter's repeated edge does not."""
    width, height = image.size
    rows = image
    for d in range(1, size // 2 + 1):
        rows = ImageChops.lighter(rows, image.crop((d, 0, width + d, height)))
        rows = ImageChops.lighter(rows, image.crop((-d, 0, width - d, height)))
    out = rows
    for d in range(1, size // 2 + 1):
        out = ImageChops.lighter(out, rows.crop((0, d, width, height + d)))
        out = ImageChops.lighter(out, rows.crop((0, -d, width, height - d)))
    return out


def _closing(grey: Image.Image, size: int) -> Image.Image:
    """Morphological closing (dilation, then erosion: the dilation of the negative)."""
    return ImageChops.invert(_dilate(ImageChops.invert(_dilate(grey, size)), size))


def _row_sharpness(ink: Image.Image) -> float:
    """How strongly the ink is gathered into rows (variance of the row means)."""
    rows = ink.resize((1, ink.height), Image.Resampling.BOX)
    return ImageStat.Stat(rows).var[0]


def tilt(ink: Image.Image) -> float:
    """The small tilt (degrees, counter-clockwise, ±``MAX_TILT`` in half degrees) that lines the ink's text rows up
    across the page: whole degrees first, then half a degree either side of the best."""
    small = ink.resize((max(1, ink.width // 2), max(1, ink.height // 2)), Image.Resampling.BOX)
    best_angle, best = 0.0, -1.0
    for step in range(-int(MAX_TILT), int(MAX_TILT) + 1):
        angle = float(step)
        sharp = _row_sharpness(small.rotate(angle, Image.Resampling.BILINEAR, expand=True))
        if sharp > best:
            best, best_angle = sharp, angle
    for fine in (-0.5, 0.5):
        angle = best_angle + fine
        sharp = _row_sharpness(small.rotate(angle, Image.Resampling.BILINEAR, expand=True))
        if sharp > best:
            best, best_angle = sharp, angle
    return best_angle


def upright(ink: Image.Image) -> tuple[Image.Image, float]:
    """The ink turned by its ``tilt``; and the angle used. (Not quarter turns: a receipt's columns gather ink as
    sharply as its rows, so 90° is told by EXIF and the OCR.)"""
    best_angle = tilt(ink)
    if best_angle == 0:
        return ink, 0.0
    return ink.rotate(best_angle, Image.Resampling.BILINEAR, expand=True), best_angle


def _quantiles(profile: list[float], trim: float) -> tuple[int, int]:
    total = sum(profile)
    if total <= 0:
        return 0, len(profile)
    lo_target, hi_target = total * trim, total * (1 - trim)
    acc, lo, hi = 0.0, 0, len(profile)
    for i, v in enumerate(profile):
        if acc <= lo_target < acc + v:
            lo = i
        if acc <= hi_target < acc + v:
            hi = i + 1
            break
        acc += v
    return lo, max(hi, lo + 1)


def ink_box(ink: Image.Image) -> tuple[int, int, int, int]:
    rows = list(ink.resize((1, ink.height), Image.Resampling.BOX).tobytes())
    cols = list(ink.resize((ink.width, 1), Image.Resampling.BOX).tobytes())
    top, bottom = _quantiles(rows, TRIM)
    left, right = _quantiles(cols, TRIM)
    return left, top, right, bottom


def _dct_low(pixels: list[float], n: int, low: int) -> list[list[float]]:
    """The ``low`` x ``low`` lowest 2-D DCT-II coefficients of an n x n image (row-major pixels)."""
    basis = [[math.cos(math.pi * (2 * x + 1) * u / (2 * n)) for x in range(n)] for u in range(low)]
    rows = [[sum(b * p for b, p in zip(basis[u], pixels[y * n:(y + 1) * n], strict=True)) for u in range(low)]
            for y in range(n)]
    return [[sum(basis[v][y] * rows[y][u] for y in range(n)) for u in range(low)] for v in range(low)]


def phash_of_ink(ink: Image.Image) -> str:
    thumb = ink.resize((DCT_SIZE, DCT_SIZE), Image.Resampling.BOX)
    coeffs = _dct_low([float(p) for p in thumb.tobytes()], DCT_SIZE, LOW)
    flat = [c for row in coeffs for c in row][1:]  # DC (the overall ink amount) says nothing of the layout
    flat.append(coeffs[LOW - 1][LOW - 1])  # 64 bits: the last one twice
    median = sorted(flat)[len(flat) // 2]
    bits = 0
    for c in flat:
        bits = (bits << 1) | (c > median)
    return f"{bits:016x}"


def receipt_hash(image: Image.Image, region: tuple[float, float, float, float] | None = None) -> str | None:
    """The 64-bit perceptual hash (16 hex digits) of the receipt in ``image`` (already EXIF-rotated), or of the
    part of it in ``region`` (left, top, width, height, page-relative 0..1: one receipt of several on a page).
    None for a page with no ink (blank, black)."""
    if region is not None:
        left, top, width, height = region
        pad = 0.02
        box = (max(0, int((left - pad) * image.width)), max(0, int((top - pad) * image.height)),
               min(image.width, int((left + width + pad) * image.width) + 1),
               min(image.height, int((top + height + pad) * image.height) + 1))
        if box[2] - box[0] < 8 or box[3] - box[1] < 8:
            return None
        image = image.crop(box)
    ink = ink_map(image)
    if ImageStat.Stat(ink).mean[0] < 0.05:
        return None
    ink, _ = upright(ink)
    crop = ink.crop(ink_box(ink))
    if crop.width < 4 or crop.height < 4:
        return None
    return phash_of_ink(crop)


def distance(a: str, b: str) -> int:
    """Hamming distance between two hashes (hex)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
