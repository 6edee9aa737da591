"""HTML and plain-text e-receipts become rows of boxes the geometric parser pairs like a clean scan."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.extraction import text_receipt as tr
from chalicelib.extraction.analyze_expense import build_analyze_expense
from chalicelib.extraction.documents import load_document
from chalicelib.extraction.models import DocumentTooLarge, UnsupportedDocument
from chalicelib.extraction.service import extract_document_detailed
from chalicelib.intake.mime import as_utf8_html, plain_as_html


def texts(markup: str) -> list[list[str]]:
    return [cells for cells, _ in tr.html_rows(markup)]


def by_text(lines, text):
    [line] = [ln for ln in lines if ln.text == text]
    return line


def test_table_rows_keep_label_and_amount_on_one_row_with_the_amount_at_the_right():
    lines = tr.receipt_lines(b"<html><body><table><tr><td>Subtotal</td><td align=right>HK$152.00</td></tr>"
                             b"<tr><td>Total</td><td>HK$186.30</td></tr></table></body></html>")
    label, amount = by_text(lines, "Total"), by_text(lines, "HK$186.30")
    assert label.box.center_y == amount.box.center_y and amount.box.right == pytest.approx(1 - 0.05)
    assert by_text(lines, "Subtotal").box.bottom < label.box.top  # rows top to bottom, not overlapping
    assert all(ln.confidence == 1.0 for ln in lines)
    fields = build_analyze_expense([lines])["ExpenseDocuments"][0]["SummaryFields"]
    totals = [f["ValueDetection"]["Text"] for f in fields if f["Type"]["Text"] == "TOTAL"]
    assert totals == ["HK$186.30"]


def test_hidden_text_scripts_styles_and_tracking_pixels_are_dropped():
    markup = ('<html><head><title>T</title><style>.a{color:red}</style><script>var total="$1"</script></head><body>'
              '<div class="preheader" style="display:none">Total HK$999.99</div>'
              '<span style="opacity:0">hidden 1</span><div hidden>hidden 2</div>'
              '<div style="mso-hide:all">hidden 3</div><div style="max-height:0px;overflow:hidden">hidden 4</div>'
              '<p aria-hidden="true">hidden 5</p><p class="sr-only">hidden 6</p>'
              '<img src="https://t.example.com/o.gif" width="1" height="1" alt="pixel">'
              "<p>Shown</p></body></html>")
    assert texts(markup) == [["Shown"]]


def test_a_label_and_an_amount_each_wrapped_in_a_table_of_their_own_stay_on_one_row():
    # the shape of Uber's and MJML-built mails: every cell's text sits in a one-cell table
    markup = ("<table><tr><td><table><tr><td>Trip fare</td></tr></table></td>"
              "<td><table><tr><td><p>HK$152.00</p></td></tr></table></td></tr>"
              "<tr><td><table><tr><td>Total</td></tr><tr><td>incl. tolls</td></tr></table></td>"
              "<td><table><tr><td>HK$186.30</td></tr></table></td></tr></table>")
    assert texts(markup) == [["Trip fare", "HK$152.00"], ["Total", "HK$186.30"], ["incl. tolls"]]


def test_a_real_table_inside_a_cell_comes_after_the_cells_text():
    markup = ("<table><tr><td>Order summary<table><tr><td>Total</td><td>$5.00</td></tr></table>thanks</td>"
              "<td>side</td></tr></table>")
    assert texts(markup) == [["Order summary"], ["Total", "$5.00"], ["thanks", "side"]]


def test_a_hidden_table_does_not_unbalance_the_tables_after_it():
    markup = ('<table><tr><td>Shop</td></tr></table><table style="display:none"><tr><td>x</td></tr></table>'
              "<table><tr><td>Total</td><td>$5.00</td></tr></table><p>after</p>")
    assert texts(markup) == [["Shop"], ["Total", "$5.00"], ["after"]]


def test_mjml_wrappers_with_font_size_0_and_one_of_two_copies_stay_visible():
    markup = ('<div style="font-size:0px;text-align:left"><div style="font-size:14px">Total $5.00</div></div>'
              '<p class="mobile-hidden">Shop</p><p class="hide-desktop">Shop</p>')
    assert texts(markup) == [["Total $5.00"], ["Shop"], ["Shop"]]


def test_entities_br_blocks_and_nbsp():
    markup = "<div>Tip&nbsp;&amp;&nbsp;tolls<br>&#36;20.00</div><p>A</p><p>B</p>"
    assert texts(markup) == [["Tip & tolls"], ["$20.00"], ["A"], ["B"]]


def test_lines_inside_a_cell_sit_beside_the_other_cells_lines():
    markup = ("<table><tr><td><p>Tolls</p><p>Western Harbour Crossing</p></td><td><p>HK$9.00</p></td></tr>"
              "<tr><td>1x<td>Corn Cup<td>HK$ 14.50</tr></table>")  # unclosed cells, as mail HTML has them
    assert texts(markup) == [["Tolls", "HK$9.00"], ["Western Harbour Crossing"], ["1x", "Corn Cup", "HK$ 14.50"]]


def test_nested_layout_tables_give_the_inner_rows():
    markup = ("<table><tr><td align=center><table><tr><td>Logo text</td></tr></table>"
              "<table><tr><td>Total</td><td>$5.00</td></tr></table>after</td></tr></table>")
    assert texts(markup) == [["Logo text"], ["Total", "$5.00"], ["after"]]


def test_the_first_logo_alt_names_the_sender_later_images_do_not():
    markup = ('<img src="x.png" alt="foodpanda logo"><p>Order summary</p>'
              '<img src="p.jpg" alt="Big Mac photo"><p>Total $1.00</p>')
    rows = tr.forwarded_part(tr.html_rows(markup))
    assert rows == [(["foodpanda"], "logo"), (["Order summary"], "text"), (["Total $1.00"], "text")]


def test_an_icon_beside_text_drops_only_the_icon_not_the_row():
    markup = ('<p>Shop</p><table><tr><td><img src="visa.png" alt="Visa" width="24"> Visa ••••4821</td>'
              "<td>HK$186.30</td></tr></table>")
    assert [cells for cells, _ in tr.forwarded_part(tr.html_rows(markup))] == [["Shop"], ["Visa ••••4821", "HK$186.30"]]


def test_greetings_are_not_receipt_lines():
    rows = tr.forwarded_part(tr.text_rows("Hi Chris,\n陳先生，您好！\nChris 様\nDear customer\nHello Kitty Café\n"
                                          "Hi-Fi Corner\nHEYTEA 喜茶\nTotal  $5.00\n"))
    assert [cells for cells, _ in rows] == [["Hello Kitty Café"], ["Hi-Fi Corner"], ["HEYTEA 喜茶"], ["Total", "$5.00"]]


def test_plain_text_columns_split_on_two_spaces_or_tabs():
    assert [c for c, _ in tr.text_rows("Meter fare 咪錶車資     HK$ 96.50\nTip\t$5.00\nNo split here\n")] == [
        ["Meter fare 咪錶車資", "HK$ 96.50"], ["Tip", "$5.00"], ["No split here"]]


def test_plain_text_in_pre_keeps_its_columns():
    lines = tr.receipt_lines(plain_as_html("Total 總額        HK$ 127.50\n"))
    assert [ln.text for ln in lines] == ["Total 總額", "HK$ 127.50"]


@pytest.mark.parametrize("marker", ["---------- Forwarded message ---------", "Begin forwarded message:",
                                    "-----Original Message-----"])
def test_the_forwarded_part_starts_after_the_marker_and_its_headers(marker):
    text = (f"my note 9123 4567\n\n{marker}\nFrom: Shop <a@shop.example>\nDate: 1 Nov 2026\nSubject: Receipt\n"
            "To: me@example.com\n\nShop Name\nTotal  $5.00\n")
    assert [c for c, _ in tr.forwarded_part(tr.text_rows(text))] == [["Shop Name"], ["Total", "$5.00"]]


@pytest.mark.parametrize(("charset", "text"), [("big5", "總數 $74.00"), ("gb2312", "总计 ￥74.00"),
                                               ("utf-8", "總數 $74.00")])
def test_declared_charsets_are_decoded(charset, text):
    data = f'<html><head><meta charset="{charset}"></head><body><p>{text}</p></body></html>'.encode(charset)
    assert [c for c, _ in tr.html_rows(tr.decode_markup(data))] == [[text]]


def test_undeclared_big5_is_still_read():
    assert tr.decode_markup("<p>八達通 餘額</p>".encode("big5")) == "<p>八達通 餘額</p>"


def test_as_utf8_html_replaces_the_parts_charset():
    data = as_utf8_html('<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head>'
                        "<body>總數</body></html>")
    assert b"big5" not in data and b'<meta charset="utf-8">' in data
    assert tr.decode_markup(data).count("總數") == 1


def test_load_document_reads_html_as_text_lines_without_ocr():
    [page] = load_document(b"<!DOCTYPE html><html><body><p>Shop</p><p>Total $5.00</p></body></html>", "x.html")
    assert page.has_text and page.image is None and [ln.text for ln in page.lines] == ["Shop", "Total $5.00"]


def test_html_without_visible_text_or_too_long_is_refused():
    with pytest.raises(UnsupportedDocument):
        load_document(b"<html><body><div style='display:none'>x</div></body></html>", "receipt.html")
    rows = "".join(f"<p>row {i}</p>" for i in range(tr.MAX_ROWS + 1))
    with pytest.raises(DocumentTooLarge):
        load_document(f"<html><body>{rows}</body></html>".encode(), "receipt.html")


def test_a_text_file_that_is_not_html_is_still_unsupported():
    with pytest.raises(UnsupportedDocument):
        load_document(b"just some notes, Total $5.00", "notes.txt")


def test_extraction_reads_an_html_receipt_end_to_end():
    markup = ("<html><body><h1>Tsui Wah 翠華</h1><p>03/11/2026 12:30</p><table>"
              "<tr><td>Subtotal</td><td>$80.00</td></tr><tr><td>Service charge</td><td>$8.00</td></tr>"
              "<tr><td>Total</td><td>$88.00</td></tr></table></body></html>")
    receipt = extract_document_detailed(markup.encode(), "receipt.html").receipt
    assert (receipt.vendor_read, receipt.total, receipt.currency, receipt.needs_review) == (
        "Tsui Wah 翠華", Decimal("88.00"), "HKD", False)
    assert receipt.vendor == "翠華餐廳 Tsui Wah Restaurant"  # the vendor directory's name for the chain


@pytest.mark.parametrize(("markup", "missing"), [
    ("<p>Shop</p><p>1 Nov 2026</p><p>Total $5.00</p>", []),
    ("<p>Shop</p><p>1 Nov 2026</p><table><tr><td>Amount paid</td><td>HK$5.00</td></tr></table>", []),
    ("<p>Shop</p><p>1 Nov 2026</p><p>Now $899.00</p><p>Pay with Visa and save $50.00</p>",
     ["no total with an amount"]),
    ("<p>Please find attached the receipt ($480)</p>", ["no total with an amount", "no date"]),
])
def test_missing_receipt_evidence(markup, missing):
    assert tr.missing_receipt_evidence(tr.receipt_lines(markup.encode(), "x.html")) == missing
