"""The residency guard of the package step: every data-holding resource of a stage is in Hong Kong.

A CloudFormation stack creates its resources in the region it is deployed to, so the guard checks three things:

1. each stack's region: REGION, except the declared exceptions (EXCEPTION_STACKS: the SES receiving stack), and
   an exception stack holds no data resource (its rule writes straight into the Hong Kong bucket);
2. nothing inside a stack places data elsewhere: a region named in a data resource's properties or an ARN
   (a queue, topic or key in another region), multi-region KMS keys, S3 replication, DynamoDB global tables;
3. the cross-border calls the functions may make name only the regions their stage settings give, and each is
   registered with its legal basis in chalicelib/domain/transfers.py.

A stage may allow other regions only explicitly, in infra/resources.py STAGE_ALLOWED_REGIONS (no stage does).
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.domain import transfers
from infra import resources as r

# The resources that hold or carry data; a region outside Hong Kong in any of them is a violation.
DATA_TYPES = frozenset({
    "AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::KMS::Key", "AWS::KMS::ReplicaKey",
    "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::StepFunctions::StateMachine",
    "AWS::Lambda::Function", "AWS::Serverless::Function", "AWS::SecretsManager::Secret", "AWS::Cognito::UserPool",
    "AWS::S3::BucketPolicy", "AWS::Serverless::Api", "AWS::ApiGateway::RestApi",
})
# Stacks deployed outside REGION on purpose: stack name -> (region, resource types it may hold)
EXCEPTION_STACKS = {
    "ses-receiving": (r.SES_RECEIVING_REGION,
                      frozenset({"AWS::SES::ReceiptRuleSet", "AWS::SES::ReceiptRule", "AWS::IAM::Role"})),
}
# Environment variables naming the destination of a registered cross-border call -> its transfer kinds
TRANSFER_SETTINGS = {"TELEPHONY_REGION": ("sms", "voice"), "TEXTRACT_REGION": ("textract",),
                     "SES_RECEIVING_REGION": ("ses-receiving",)}
REGION_PATTERN = re.compile(r"\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:gov-)?[a-z]+-\d\b")


class ResidencyViolation(SystemExit):
    """Raised by the package step: the message lists every violation."""


def allowed_regions(stage: str) -> set[str]:
    return {r.REGION, *r.STAGE_ALLOWED_REGIONS.get(stage, ())}


def _regions_in(value: Any) -> set[str]:
    return set(REGION_PATTERN.findall(json.dumps(value)))


def _environment(props: dict) -> dict:
    return props.get("Environment", {}).get("Variables", {}) or {}


def stack_violations(stack: str, template: dict, stack_region: str, stage: str) -> list[str]:
    """Every residency violation in one stack's template deployed to `stack_region`."""
    found: list[str] = []
    allowed = allowed_regions(stage)
    exception = EXCEPTION_STACKS.get(stack)
    resources = template.get("Resources", {})
    if exception is not None:
        region, types = exception
        if stack_region != region:
            found.append(f"{stack}: the declared exception deploys to {region}, not {stack_region}")
        for logical, resource in resources.items():
            if resource.get("Type") not in types:
                found.append(f"{stack}/{logical}: {resource.get('Type')} may not be created in {stack_region} "
                             f"(the exception stack holds only {', '.join(sorted(types))})")
        return found
    if stack_region not in allowed:
        found.append(f"{stack}: deployed to {stack_region}; stage {stage!r} allows {', '.join(sorted(allowed))}")
    for logical, resource in resources.items():
        kind, props = resource.get("Type"), resource.get("Properties", {}) or {}
        if kind is None or kind not in DATA_TYPES:
            continue
        env = _environment(props)
        checked = {k: v for k, v in props.items() if k != "Environment"}
        checked["Environment"] = {k: v for k, v in env.items() if k not in TRANSFER_SETTINGS}
        for region in sorted(_regions_in(checked) - allowed):
            found.append(f"{stack}/{logical}: {kind} names region {region}")
        if kind in ("AWS::KMS::Key",) and props.get("MultiRegion"):
            found.append(f"{stack}/{logical}: a multi-region KMS key can be replicated out of Hong Kong")
        if kind == "AWS::KMS::ReplicaKey":
            found.append(f"{stack}/{logical}: a KMS replica key")
        if kind == "AWS::S3::Bucket" and "ReplicationConfiguration" in props:
            found.append(f"{stack}/{logical}: S3 replication copies objects to another bucket (and region)")
        if kind == "AWS::DynamoDB::GlobalTable":
            found.append(f"{stack}/{logical}: a global table replicates to other regions")
        for setting, kinds in TRANSFER_SETTINGS.items():
            if setting in env:
                unregistered = [k for k in kinds if k not in transfers.TRANSFERS]
                if unregistered:
                    found.append(f"{stack}/{logical}: {setting} feeds a transfer not registered in "
                                 f"chalicelib/domain/transfers.py: {unregistered}")
    return found


def violations(stage: str, stacks: dict[str, tuple[dict, str]]) -> list[str]:
    """`stacks`: stack name -> (template, region it deploys to). The main stack is named "main"."""
    found: list[str] = []
    if transfers.HOME_REGION != r.REGION:
        found.append(f"infra/resources.py REGION {r.REGION} differs from transfers.HOME_REGION")
    for name, (template, region) in stacks.items():
        found += stack_violations(name, template, region, stage)
    return found


def check(stage: str, stacks: dict[str, tuple[dict, str]]) -> None:
    """Fails the package step (SystemExit with every violation) unless the stage's resources stay in Hong Kong."""
    found = violations(stage, stacks)
    if found:
        raise ResidencyViolation("residency guard: resources outside Hong Kong for stage "
                                 f"{stage!r}:\n  " + "\n  ".join(found))
