"""The package step's gates on the templates, each shown able to fail: the residency guard (infra/residency.py),
the Guard policy rules with their one suppressions file and the plain-secrets check (infra/policy.py), TLS-only
policies and SSE-KMS under the stage's own key, and one key use per function that needs it."""

from __future__ import annotations

import copy
import json

import pytest

from infra import policy, residency, ses_receiving
from infra import resources as r
from infra import template as t

STAGES = [s for s in r.STAGES if s != "local"]


@pytest.fixture(scope="module", params=STAGES)
def stage(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def merge(stage) -> dict:
    return t.build(stage)


def _stacks(stage: str, main: dict, ses: dict | None = None, main_region: str = r.REGION,
            ses_region: str = r.SES_RECEIVING_REGION) -> dict:
    return {"main": (main, main_region), "ses-receiving": (ses or ses_receiving.build(stage), ses_region)}


# ---- residency ------------------------------------------------------------------------------------------------


def test_every_stage_passes_the_residency_guard(stage, merge):
    assert residency.violations(stage, _stacks(stage, merge)) == []


def test_the_main_stack_outside_hong_kong_fails_the_package_step(stage, merge):
    with pytest.raises(residency.ResidencyViolation) as failed:
        residency.check(stage, _stacks(stage, merge, main_region="ap-southeast-1"))
    assert "main: deployed to ap-southeast-1" in str(failed.value)


@pytest.mark.parametrize("kind, change", [
    ("AWS::SQS::Queue", lambda p: p.update(RedrivePolicy={
        "deadLetterTargetArn": "arn:aws:sqs:ap-southeast-1:123456789012:elsewhere", "maxReceiveCount": 3})),
    ("AWS::KMS::Key", lambda p: p.update(MultiRegion=True)),
    ("AWS::S3::Bucket", lambda p: p.update(ReplicationConfiguration={"Role": "x", "Rules": []})),
    ("AWS::SNS::Topic", lambda p: p.update(KmsMasterKeyId="arn:aws:kms:us-east-1:123456789012:key/abc")),
    ("AWS::Logs::LogGroup", lambda p: p.update(LogGroupName="/copied/to/eu-west-1")),
    ("AWS::StepFunctions::StateMachine", lambda p: p.update(RoleArn="arn:aws:iam::1:role/x-us-west-2-y")),
    ("AWS::Serverless::Function", lambda p: p["Environment"]["Variables"].update(
        ARCHIVE_QUEUE_URL="https://sqs.ap-northeast-1.amazonaws.com/123456789012/copy")),
])
def test_a_data_resource_placed_outside_hong_kong_is_a_violation(stage, merge, kind, change):
    broken = copy.deepcopy(merge)
    logical = next(k for k, v in broken["Resources"].items() if v.get("Type") == kind)
    change(broken["Resources"][logical]["Properties"])
    found = residency.violations(stage, _stacks(stage, broken))
    assert found and all(f.startswith(f"main/{logical}") for f in found), found


def test_a_global_table_is_a_violation(stage, merge):
    broken = copy.deepcopy(merge)
    broken["Resources"]["CopyTable"] = {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {
        "Replicas": [{"Region": r.REGION}]}}
    assert residency.violations(stage, _stacks(stage, broken)) == [
        "main/CopyTable: a global table replicates to other regions"]


def test_the_ses_stack_is_the_one_exception_and_may_hold_no_data(stage, merge):
    ses = ses_receiving.build(stage)
    assert residency.violations(stage, _stacks(stage, merge, ses_region="us-east-1")) == [
        "ses-receiving: the declared exception deploys to ap-southeast-1, not us-east-1"]
    holding = copy.deepcopy(ses)
    holding["Resources"]["Staging"] = {"Type": "AWS::S3::Bucket", "Properties": {}}
    [found] = residency.violations(stage, _stacks(stage, merge, ses=holding))
    assert found.startswith("ses-receiving/Staging: AWS::S3::Bucket may not be created in ap-southeast-1")


def test_the_cross_border_settings_are_the_registered_transfers_only(stage, merge, monkeypatch):
    from chalicelib.domain import transfers

    monkeypatch.delitem(transfers.TRANSFERS, "textract")
    found = residency.violations(stage, _stacks(stage, merge))
    assert found and all("TEXTRACT_REGION feeds a transfer not registered" in f for f in found)


def test_a_stage_allows_another_region_only_through_its_config(merge, monkeypatch):
    stacks = _stacks("dev", t.build("dev"), main_region="ap-southeast-1")
    assert residency.violations("dev", stacks)
    monkeypatch.setitem(r.STAGE_ALLOWED_REGIONS, "dev", ("ap-southeast-1",))
    assert residency.violations("dev", stacks) == []
    assert residency.violations("prod", _stacks("prod", t.build("prod"), main_region="ap-southeast-1"))


# ---- storage and IAM hardening -----------------------------------------------------------------------------------


def test_every_bucket_has_a_tls_only_policy(merge):
    policies = {v["Properties"]["Bucket"]["Ref"]: v["Properties"]["PolicyDocument"]
                for v in merge["Resources"].values() if v.get("Type") == "AWS::S3::BucketPolicy"}
    assert set(policies) == {t.bucket_id(b) for b in r.BUCKETS}
    for bucket_id, document in policies.items():
        [deny] = [s for s in document["Statement"] if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and deny["Principal"] == "*"
        assert deny["Action"] == "s3:*"
        assert {"Fn::GetAtt": [bucket_id, "Arn"]} in deny["Resource"]


def test_buckets_tables_and_function_variables_are_encrypted_with_the_stages_own_key(merge):
    key = {"Fn::GetAtt": [t.key_id(r.DATA_KEY), "Arn"]}
    res = merge["Resources"]
    assert res[t.key_id(r.DATA_KEY)]["Properties"]["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert res[t.key_id(r.DATA_KEY)]["Properties"]["EnableKeyRotation"] is True
    assert "MultiRegion" not in res[t.key_id(r.DATA_KEY)]["Properties"]
    for bucket in r.BUCKETS:
        [rule] = res[t.bucket_id(bucket)]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    for table in r.TABLES:
        assert res[t.table_id(table.logical)]["Properties"]["SSESpecification"] == {
            "SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    for fn in t.all_functions():
        assert res[t.function_id(fn.logical)]["Properties"]["KmsKeyArn"] == key


def test_each_function_may_use_the_data_key_only_through_the_services_it_uses(merge):
    for fn in t.all_functions():
        grant = t.access("prod")[fn.logical]
        statements = t.function_policy("prod", fn, grant)["Statement"]
        [use] = [s for s in statements if s["Sid"] == "UseDataKeyThroughServices"]
        assert use["Resource"] == [{"Fn::GetAtt": [t.key_id(r.DATA_KEY), "Arn"]}]
        assert set(use["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}
        via = {v["Fn::Sub"].split(".")[0] for v in use["Condition"]["StringEquals"]["kms:ViaService"]}
        expected = {"lambda"} | ({"s3"} if grant.objects or grant.other_objects else set()) | (
            {"dynamodb"} if grant.tables or grant.streams else set())
        assert via == expected, fn.logical
    route = next(f for f in t.all_functions() if f.logical == "route_claim")  # reads tables, never S3
    [use] = [s for s in t.function_policy("prod", route, t.access("prod")["route_claim"])["Statement"]
             if s["Sid"] == "UseDataKeyThroughServices"]
    assert not any("s3." in v["Fn::Sub"] for v in use["Condition"]["StringEquals"]["kms:ViaService"])


def test_ses_writes_into_the_hong_kong_bucket_under_its_key_only_through_s3(stage):
    ses = ses_receiving.build(stage)
    [_, kms] = ses["Resources"]["SesWriteRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert kms == {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": {"Ref": "DataKeyArn"},
                   "Condition": {"StringEquals": {"kms:ViaService": "s3.ap-east-1.amazonaws.com"}}}
    assert "ap-east-1" in ses["Parameters"]["DataKeyArn"]["AllowedPattern"]


# ---- secrets ----------------------------------------------------------------------------------------------------


def test_no_secret_value_is_in_a_template_or_the_stage_config(stage, merge):
    assert policy.plain_secrets(merge) == []
    assert policy.plain_secrets(ses_receiving.build(stage)) == []
    config = json.loads((r.ROOT / ".chalice" / "config.json").read_text("utf-8"))
    as_template = {"Resources": {s: {"Properties": {"Environment": {"Variables": v["environment_variables"]}}}
                                 for s, v in config["stages"].items()}}
    assert policy.plain_secrets(as_template) == []


@pytest.mark.parametrize("name, value", [
    ("LEDGER_CLIENT_SECRET", "s3cr3t-v4lue-Xk29"),
    ("DB_PASSWORD", "hunter2hunter2"),
    ("SIGNING_JWK", '{"kty": "EC", "d": "c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFs"}'),
    ("AWS_KEY", "AKIAABCDEFGHIJKLMNOP"),
])
def test_the_secrets_check_finds_a_secret_written_into_the_environment(merge, name, value):
    broken = copy.deepcopy(merge)
    broken["Resources"]["RouteClaim"]["Properties"]["Environment"]["Variables"][name] = value
    assert policy.plain_secrets(broken) and all("RouteClaim" in f for f in policy.plain_secrets(broken))


def test_the_secrets_check_finds_a_literal_secret_value(merge):
    broken = copy.deepcopy(merge)
    broken["Resources"][t.secret_id("approval-link-key")]["Properties"] = {"Name": "x", "SecretString": "abc"}
    assert policy.plain_secrets(broken) == [f"{t.secret_id('approval-link-key')}: the secret's value is written "
                                            "in the template"]


# ---- Guard policy rules ------------------------------------------------------------------------------------------


def _packaged_shape(merge: dict) -> dict:
    """The merge template with the types Chalice gives its own resources (what Guard sees after packaging)."""
    shaped = copy.deepcopy(merge)
    for resource in shaped["Resources"].values():
        resource.setdefault("Type", "AWS::Serverless::Function")
    shaped["Resources"].pop(t.REST_API_ID)
    return shaped


def test_the_templates_pass_the_guard_rules_with_only_the_justified_suppressions(stage, merge):
    suppressions = policy.load_suppressions()
    findings = policy.guard_findings(_packaged_shape(merge)) + policy.guard_findings(ses_receiving.build(stage))
    left, stale = policy.unsuppressed(findings, suppressions)
    assert left == []
    assert stale == []  # every suppression still excuses something real
    assert {f.rule for f in findings} == {e["rule"] for e in suppressions["guard"]}


@pytest.mark.parametrize("logical_kind, change, rule", [
    ("AWS::S3::Bucket", lambda p: p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0].update(
        ServerSideEncryptionByDefault={"SSEAlgorithm": "AES256"}), "S3_BUCKET_SSE_KMS_CMK"),
    ("AWS::S3::Bucket", lambda p: p["PublicAccessBlockConfiguration"].update(BlockPublicPolicy=False),
     "S3_BUCKET_PUBLIC_ACCESS_BLOCKED"),
    ("AWS::S3::BucketPolicy", lambda p: p["PolicyDocument"].update(Statement=[]), "S3_BUCKET_SSL_REQUESTS_ONLY"),
    ("AWS::DynamoDB::Table", lambda p: p.update(SSESpecification={"SSEEnabled": True}),
     "DYNAMODB_TABLE_ENCRYPTED_KMS_CMK"),
    ("AWS::KMS::Key", lambda p: p.update(MultiRegion=True), "KMS_KEY_SINGLE_REGION"),
    ("AWS::SQS::Queue", lambda p: p.pop("SqsManagedSseEnabled"), "SQS_QUEUE_ENCRYPTED"),
    ("AWS::SNS::Topic", lambda p: p.pop("KmsMasterKeyId"), "SNS_TOPIC_ENCRYPTED"),
    ("AWS::Logs::LogGroup", lambda p: p.pop("RetentionInDays"), "LOG_GROUP_RETENTION"),
    ("AWS::IAM::Role", lambda p: p["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": ["*"], "Resource": "*"}), "IAM_NO_ACTION_WILDCARD"),
    ("AWS::StepFunctions::StateMachine", lambda p: p.update(TracingConfiguration={"Enabled": False}),
     "STEP_FUNCTIONS_TRACING"),
])
def test_each_guard_rule_fails_a_resource_that_breaks_it(logical_kind, change, rule):
    merge = t.build("prod")
    logical = next(k for k, v in merge["Resources"].items() if v.get("Type") == logical_kind
                   and (logical_kind != "AWS::KMS::Key" or k == t.key_id(r.DATA_KEY)))
    change(merge["Resources"][logical]["Properties"])
    left, _ = policy.unsuppressed(policy.guard_findings({"Resources": {logical: merge["Resources"][logical]}}),
                                  policy.load_suppressions())
    assert (rule, logical) in {(f.rule, f.resource) for f in left}


def test_every_suppression_says_why_and_an_unjustified_one_is_refused(tmp_path):
    data = policy.load_suppressions()
    assert data["guard"] and all(len(e["why"]) > 80 for e in data["guard"])
    bad = tmp_path / "suppressions.json"
    bad.write_text(json.dumps({"guard": [{"rule": "LAMBDA_INSIDE_VPC", "resources": "*", "why": "meh"}]}))
    with pytest.raises(ValueError, match="justification"):
        policy.load_suppressions(bad)


# ---- make deploy ------------------------------------------------------------------------------------------------


def _fake_package(tmp_path):
    out = tmp_path / "prod"
    out.mkdir()
    (out / "deployment.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (out / "sam.json").write_text("{}")
    (out / "ses-receiving.json").write_text("{}")
    return out


@pytest.mark.parametrize("argv, reason", [(["--dry-run"], "--dry-run"), ([], "no AWS credentials found")])
def test_make_deploy_without_credentials_or_with_dry_run_changes_nothing_and_says_what_it_would_do(
        tmp_path, monkeypatch, capsys, argv, reason):
    from infra import deploy

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(deploy.Deployer, "run", lambda *a: pytest.fail("a dry run must not deploy"))
    out = _fake_package(tmp_path)
    assert deploy.main(["--stage", "prod", "--skip-package", "--out", str(out), *argv]) == 0
    printed = capsys.readouterr().out
    assert f"dry run ({reason})" in printed
    assert "hk-expense-prod in ap-east-1" in printed and "hk-expense-prod-ses-receiving in ap-southeast-1" in printed
    assert "set-active-receipt-rule-set" in printed and "MX record" in printed and "OpsAlertsTopicArn" in printed


def test_the_makefile_has_one_deploy_command_per_stage():
    makefile = (r.ROOT / "Makefile").read_text("utf-8")
    assert "\ndeploy: deps\n\t$(PY) -m infra.deploy --stage $(STAGE)" in makefile
