"""The finance export as people open it: localised headers and words, amounts with their currency, HKD as numbers
in the XLSX (opened again with openpyxl), and claim text that can never run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from chalicelib.web import finance_routes as fr
from chalicelib.web import i18n

ROW = {"title": "=HYPERLINK(\"http://evil\")", "claimant": "黃小明 Wong Siu Ming", "department": "Sales 銷售部",
       "created_at": "2026-11-30T16:30:00+00:00", "status": "in_approval", "categories": ["meals", "travel"],
       "amounts": [{"amount": "880.00", "currency": "CNY"}, {"amount": "12.50", "currency": "HKD"}],
       "hkd": {"amount": "962.90", "currency": "HKD"}, "flagged": True, "reasons": ["possible duplicate"],
       "review_reasons": []}


def test_the_csv_reads_in_the_readers_language_and_defuses_formulas():
    text = fr.to_csv(fr.export_table([ROW], "zh-Hant", "Asia/Hong_Kong"))
    assert text.startswith("\ufeff")
    header, row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert header[:5] == ["報銷單", "申請人", "部門", "建立時間", "狀態"]
    assert row[0] == "'=HYPERLINK(\"http://evil\")"  # text, not a formula
    assert row[3] == i18n.when(ROW["created_at"], "Asia/Hong_Kong", "zh-Hant")  # the reader's zone, named
    assert row[3].startswith("2026年12月1日 00:30") and row[4] == "審批中" and row[5] == "膳食, 差旅"
    assert row[6] == "CN¥880.00 + HK$12.50" and row[7] == "962.90" and row[8] == "是"


def test_the_xlsx_holds_hkd_as_numbers_and_text_as_text():
    data = fr.to_xlsx(fr.export_table([ROW], "en", "Asia/Hong_Kong"), "Claims")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Claims" and sheet.max_row == 2
    assert [c.value for c in sheet[1]][:4] == ["Claim", "Claimant", "Department", "Created"]
    assert sheet["A2"].value == "=HYPERLINK(\"http://evil\")" and sheet["A2"].data_type == "s"
    assert sheet["E2"].value == "Awaiting approval" and sheet["J2"].value == "possible duplicate"
    assert Decimal(str(sheet["H2"].value)) == Decimal("962.90") and sheet["H2"].number_format == '"HK$"#,##0.00'
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2"
