"""Hong Kong residency at run time: the app refuses to start elsewhere unless its stage allows it, and every
cross-border call is in one register, with its legal basis, and logged as a transfer without personal data."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from chalicelib.config import ResidencyError, Settings
from chalicelib.domain import transfers
from infra import resources as r

ROOT = Path(__file__).resolve().parents[2]


def _env(stage: str = "prod", **changes: str) -> dict[str, str]:
    """The stage's environment as the Lambda runtime presents it (it sets AWS_REGION and the function name)."""
    return {**r.lambda_environment(stage), "AWS_LAMBDA_FUNCTION_NAME": f"hk-expense-{stage}-api_handler", **changes}


def test_settings_load_in_hong_kong():
    settings = Settings.from_env(_env(AWS_REGION="ap-east-1"))
    assert settings.region == transfers.HOME_REGION == r.REGION and settings.allowed_regions == ()


@pytest.mark.parametrize("setting", ["APP_REGION", "AWS_REGION"])
def test_the_app_refuses_to_start_in_another_region(setting):
    with pytest.raises(ResidencyError) as refused:
        Settings.from_env(_env(**{setting: "us-east-1"}))
    message = str(refused.value)
    assert setting in message and "us-east-1" in message and "ap-east-1" in message
    assert "RESIDENCY_ALLOWED_REGIONS" in message  # says how a stage may allow it


def test_outside_lambda_the_shells_default_region_is_not_where_the_app_runs():
    env = _env("local", AWS_REGION="us-west-2")
    env.pop("AWS_LAMBDA_FUNCTION_NAME")
    assert Settings.from_env(env).region == "ap-east-1"
    with pytest.raises(ResidencyError):  # but the app's own region setting is always checked
        Settings.from_env({**env, "APP_REGION": "us-west-2"})


def test_a_stage_may_allow_another_region_only_explicitly():
    allowed = _env("dev", AWS_REGION="ap-southeast-1", RESIDENCY_ALLOWED_REGIONS="ap-southeast-1")
    assert Settings.from_env(allowed).allowed_regions == ("ap-southeast-1",)
    with pytest.raises(ResidencyError):  # another region than the one allowed
        Settings.from_env({**allowed, "AWS_REGION": "eu-west-1"})


def test_no_deploy_stage_allows_another_region_today():
    for stage in r.STAGES:
        assert r.lambda_environment(stage)["RESIDENCY_ALLOWED_REGIONS"] == ""


def test_every_cross_border_transfer_states_its_data_purpose_and_legal_basis():
    assert set(transfers.TRANSFERS) == {"ses-receiving", "sms", "voice", "textract"}
    for transfer in transfers.TRANSFERS.values():
        assert transfer.data and transfer.purpose and transfer.switched_on_by
        assert "DPP" in transfer.legal_basis and "PCPD" in transfer.legal_basis  # the contract safeguard
    assert "s.33" in transfers.__doc__ and "not" in transfers.__doc__  # says s.33 is not in force


def test_a_transfer_is_logged_as_a_structured_record_without_personal_data(caplog):
    with caplog.at_level(logging.WARNING, logger="chalicelib.domain.transfers"):
        record = transfers.log_transfer("textract", "ap-southeast-1", size_bytes=1234)
    [logged] = [rec for rec in caplog.records if getattr(rec, "event", None) == "cross_border_transfer"]
    assert (logged.transfer, logged.from_region, logged.to_region, logged.bytes) == (
        "textract", "ap-east-1", "ap-southeast-1", 1234)
    assert record == {k: getattr(logged, k) for k in record}
    assert set(record) == {"event", "transfer", "from_region", "to_region", "items", "legal_basis", "bytes"}


def test_an_unregistered_transfer_cannot_be_logged():
    with pytest.raises(transfers.UnregisteredTransfer):
        transfers.log_transfer("translate", "us-east-1")


def _calls_to(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text("utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == name]


def test_every_out_of_region_client_logs_its_transfer():
    """The code that calls a service outside Hong Kong logs the transfer kind the register names."""
    for path, kinds in ((ROOT / "chalicelib/adapters/telephony.py", {"sms", "voice"}),
                        (ROOT / "chalicelib/adapters/textract.py", {"textract"}),
                        (ROOT / "app.py", {"ses-receiving"})):
        calls = _calls_to(path, "log_transfer")
        assert calls, path
        literal = {c.args[0].value for c in calls if isinstance(c.args[0], ast.Constant)}
        assert literal <= set(transfers.TRANSFERS)
        assert kinds <= literal or (path.name == "telephony.py" and "kind" in ast.unparse(calls[0].args[0]))


def test_every_aws_client_is_made_for_hong_kong_or_a_registered_transfer_region():
    """bootstrap.py (the one composition root) names each client's region: the home region, or the setting of a
    registered transfer (telephony: sms/voice, textract)."""
    regions = {ast.unparse(c.args[1]).rsplit(".", 1)[-1]
               for c in _calls_to(ROOT / "chalicelib/bootstrap.py", "client") if len(c.args) >= 2}
    assert regions and regions <= {"region", "telephony_region", "textract_region"}, regions
