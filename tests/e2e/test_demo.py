"""`make demo`'s scenario on moto's server over real HTTP: the path a browser and the approvers take."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from harness.demo import _free_port
from tests.conftest import ROOT


def test_demo_runs_every_sample_receipt_to_its_expected_end():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "harness.demo", "--once", "--api-port", str(_free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("Summary: "))
    summary = json.loads(line.removeprefix("Summary: "))
    assert summary["by_status"] == {"posted": 4, "rejected": 2}
    assert "MOP 1920.00 (pays 1680.00: 1 line disallowed)" in proc.stdout  # the approver cut the minibar
    # the trip claim: two receipts (HKD, CNY), mileage and per diem, settling a paid cash advance
    trip = summary["trip"]
    assert trip["status"] == "posted" and trip["claim_id"].startswith("c-")
    assert trip["advance_status"] == "settled"  # the posting cleared the advance in the same journal
    line = next(x for x in proc.stdout.splitlines() if trip["claim_id"] in x and "深圳客戶拜訪" in x)
    assert "4 expenses" in line and "CNY" in line and "HKD" in line
    assert "Dashboard: http://127.0.0.1:" in proc.stdout
    from harness.sample_org import LOCAL_PASSWORD

    assert "/signin" in proc.stdout and LOCAL_PASSWORD in proc.stdout  # how to sign in to the local stack
