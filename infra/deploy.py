"""`make deploy STAGE=dev|staging|prod` (`python -m infra.deploy --stage STAGE`): one command per stage.

1. `infra.package` builds the stage's templates and bundle and runs the gates (residency guard, cfn-lint, Guard
   rules, secrets check); any failure stops here.
2. With AWS credentials (and not --dry-run): the bundle and the template go to the artifacts bucket (in
   ap-east-1, SSE-KMS); stack `hk-expense-<stage>` in ap-east-1 is created, or updated through a change set whose
   changes are printed before it is executed; the stack's outputs are printed. Then the SES receiving stack in
   SES_RECEIVING_REGION, given the main stack's raw-mail bucket key (DataKeyArn). A failed create or update is
   rolled back by CloudFormation itself (README "Deploy": rollback).
3. Without credentials it is a dry run: it prints exactly what it would do (buckets, keys, stacks, parameters).

The one-off steps no template can do (JWKS check, rule-set activation, MX record, ops-alerts subscription) are
printed at the end and described in the README.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import resources as r
from infra import template as t

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]  # IAM roles; the SAM transform (a macro)


def stack_name(stage: str, part: str = "") -> str:
    return r.physical_name(stage, part) if part else f"{r.APP_NAME}-{stage}"


@dataclass
class Plan:
    stage: str
    out: Path
    artifact_bucket: str
    image_uri: str  # the extraction image (infra/Dockerfile.extraction)
    receiving_domain: str
    steps: list[str] = field(default_factory=list)
    scoring_image_uri: str = ""  # the scoring image (infra/Dockerfile.scoring)

    @property
    def image_parameters(self) -> dict[str, str]:
        """Each image function's template parameter and its image (t.IMAGES)."""
        uris = {"extraction": self.image_uri, "scoring": self.scoring_image_uri}
        return {parameter: uris[name] for name, (_, parameter, _) in t.IMAGES.items()}

    @property
    def code_key(self) -> str:
        digest = hashlib.sha256((self.out / "deployment.zip").read_bytes()).hexdigest()[:16]
        return f"{self.stage}/deployment-{digest}.zip"


def _with_code_in_s3(template: dict, bucket: str, key: str) -> dict:
    """`sam package`'s one change: the local CodeUri becomes the uploaded bundle."""
    text = json.dumps(template).replace('"CodeUri": "./deployment.zip"',
                                        json.dumps({"CodeUri": f"s3://{bucket}/{key}"})[1:-1])
    return json.loads(text)


def _params(values: dict[str, str]) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


class Deployer:
    """Runs a Plan against AWS through an injected boto3 session (moto's in the test)."""

    def __init__(self, session: Any, log: Callable[[str], None] = print,
                 transform: Callable[[dict, str, str], dict] | None = None):
        self._session = session
        self._log = log
        # the test's stand-in for CloudFormation's SAM transform (moto does not run it); None in AWS
        self._transform = transform

    def _client(self, name: str, region: str):
        return self._session.client(name, region_name=region)

    def _upload(self, plan: Plan, key: str, body: bytes) -> None:
        self._client("s3", r.REGION).put_object(Bucket=plan.artifact_bucket, Key=key, Body=body,
                                               ServerSideEncryption="aws:kms")

    def _template_source(self, name: str, body: dict, plan: Plan) -> dict[str, str]:
        text = json.dumps(body)
        if len(text) <= 51_200:  # CloudFormation's TemplateBody limit: larger templates go through S3
            return {"TemplateBody": text}
        key = f"{plan.stage}/{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
        self._upload(plan, key, text.encode())
        return {"TemplateURL": f"https://{plan.artifact_bucket}.s3.{r.REGION}.amazonaws.com/{key}"}

    def _deploy_stack(self, name: str, region: str, body: dict, parameters: dict[str, str], plan: Plan) -> dict:
        """Creates the stack, or updates it through a change set whose changes are printed first; returns its
        outputs. CloudFormation rolls a failed create or update back by itself (the waiter then raises)."""
        cfn = self._client("cloudformation", region)
        source = self._template_source(name, body, plan)
        try:
            cfn.describe_stacks(StackName=name)
            exists = True
        except cfn.exceptions.ClientError:
            exists = False
        if not exists:
            cfn.create_stack(StackName=name, Parameters=_params(parameters), Capabilities=CAPABILITIES,
                             OnFailure="ROLLBACK", EnableTerminationProtection=plan.stage == "prod", **source)
            cfn.get_waiter("stack_create_complete").wait(StackName=name,
                                                         WaiterConfig={"Delay": 10, "MaxAttempts": 360})
        else:
            change_set = f"deploy-{hashlib.sha256(json.dumps(body).encode()).hexdigest()[:12]}"
            cfn.create_change_set(StackName=name, ChangeSetName=change_set, ChangeSetType="UPDATE",
                                  Parameters=_params(parameters), Capabilities=CAPABILITIES, **source)
            described = self._wait_for_change_set(cfn, name, change_set)
            if described is None:
                self._log(f"{name}: no changes")
            else:
                for change in described:
                    rc = change.get("ResourceChange", {})
                    self._log(f"  {rc.get('Action')} {rc.get('LogicalResourceId')} ({rc.get('ResourceType')}) "
                              f"replacement={rc.get('Replacement', '-')}")
                cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
                cfn.get_waiter("stack_update_complete").wait(StackName=name,
                                                             WaiterConfig={"Delay": 10, "MaxAttempts": 360})
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        self._log(f"{name}: {stack['StackStatus']} in {region}")
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}

    def _wait_for_change_set(self, cfn: Any, name: str, change_set: str) -> list[dict] | None:
        """The change set's changes, or None when it has none (CloudFormation fails such a change set)."""
        from botocore.exceptions import WaiterError

        try:
            cfn.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName=change_set,
                                                              WaiterConfig={"Delay": 5, "MaxAttempts": 120})
        except WaiterError:
            described = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
            if "didn't contain changes" in described.get("StatusReason", "") or \
                    "No updates are to be performed" in described.get("StatusReason", ""):
                cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
                return None
            raise
        return cfn.describe_change_set(StackName=name, ChangeSetName=change_set).get("Changes", [])

    def ensure_artifact_bucket(self, plan: Plan) -> None:
        """Created on the first deploy: in Hong Kong, private, TLS-only, encrypted; it holds code, not data."""
        s3 = self._client("s3", r.REGION)
        try:
            s3.head_bucket(Bucket=plan.artifact_bucket)
            return
        except s3.exceptions.ClientError:
            pass
        s3.create_bucket(Bucket=plan.artifact_bucket, CreateBucketConfiguration={"LocationConstraint": r.REGION})
        s3.put_public_access_block(Bucket=plan.artifact_bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_encryption(Bucket=plan.artifact_bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
        s3.put_bucket_policy(Bucket=plan.artifact_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{plan.artifact_bucket}", f"arn:aws:s3:::{plan.artifact_bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        self._log(f"created the artifacts bucket {plan.artifact_bucket} in {r.REGION}")

    def run(self, plan: Plan) -> dict[str, dict]:
        self.ensure_artifact_bucket(plan)
        sam = json.loads((plan.out / "sam.json").read_text("utf-8"))
        ses = json.loads((plan.out / "ses-receiving.json").read_text("utf-8"))
        key = plan.code_key
        self._upload(plan, key, (plan.out / "deployment.zip").read_bytes())
        main = (self._transform(sam, plan.artifact_bucket, key) if self._transform
                else _with_code_in_s3(sam, plan.artifact_bucket, key))
        outputs = {"main": self._deploy_stack(stack_name(plan.stage), r.REGION, main,
                                            plan.image_parameters, plan)}
        ses_body = self._transform(ses, plan.artifact_bucket, key) if self._transform else ses
        outputs["ses-receiving"] = self._deploy_stack(
            stack_name(plan.stage, "ses-receiving"), r.SES_RECEIVING_REGION, ses_body,
            {"ReceivingDomain": plan.receiving_domain, "DataKeyArn": outputs["main"]["DataKeyArn"]}, plan)
        return outputs


def describe(plan: Plan) -> list[str]:
    """What a deploy of `plan` does, step by step (the dry run prints it)."""
    return [
        f"upload {plan.out / 'deployment.zip'} to s3://{plan.artifact_bucket}/{plan.code_key} (SSE-KMS)",
        f"deploy stack {stack_name(plan.stage)} in {r.REGION} from {plan.out / 'sam.json'}: created, or updated "
        f"through a change set whose changes are printed first; "
        f"{', '.join(f'{k}={v}' for k, v in plan.image_parameters.items())}; "
        f"capabilities {', '.join(CAPABILITIES)}",
        f"create or update stack {stack_name(plan.stage, 'ses-receiving')} in {r.SES_RECEIVING_REGION} "
        f"(ReceivingDomain={plan.receiving_domain}, DataKeyArn=<main stack output DataKeyArn>)",
    ]


AFTER_DEPLOY = (
    "check the sign-in keys: curl <AUTH_JWKS_URL of the stack> returns the pool's JWKS (README: Deploy, step 4)",
    f"activate the SES rule set once: aws ses set-active-receipt-rule-set --region {r.SES_RECEIVING_REGION} "
    "--rule-set-name <RuleSetName output of the ses-receiving stack>",
    f"point the receiving domain's MX record at inbound-smtp.{r.SES_RECEIVING_REGION}.amazonaws.com (priority 10)",
    "subscribe the on-call address to OpsAlertsTopicArn and confirm the subscription",
)


def credentials_available(session: Any) -> bool:
    return session.get_credentials() is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=[s for s in r.STAGES if s != "local"])
    parser.add_argument("--out", type=Path, default=None, help="package output directory (default build/<stage>)")
    parser.add_argument("--artifact-bucket", default=None,
                        help="S3 bucket in ap-east-1 for bundles and templates "
                             "(default <app>-<stage>-artifacts-<account>)")
    parser.add_argument("--image-uri", default=None, help=f"ECR image URI with digest for {t.IMAGE_PARAMETER}")
    parser.add_argument("--scoring-image-uri", default=None,
                        help=f"ECR image URI with digest for {t.IMAGES['scoring'][1]}")
    parser.add_argument("--receiving-domain", default=None, help="the domain employees forward receipts to")
    parser.add_argument("--dry-run", action="store_true", help="package and check, print the plan, change nothing")
    parser.add_argument("--skip-package", action="store_true", help="use the existing build/<stage> output")
    args = parser.parse_args(argv)

    import boto3  # deploy-time only

    from infra import package as p

    out = (args.out or p.BUILD / args.stage).resolve()
    if not args.skip_package:
        report = p.package(args.stage, out, lint=True)
        print(f"packaged {args.stage}: residency {report['residency']}, cfn-lint exit "
              f"{report['cfn_lint']['exit_code']}, {report['policy']['guard_findings']} Guard findings all suppressed "
              "with reasons, no plain secrets")
    session = boto3.Session(region_name=r.REGION)
    live = credentials_available(session) and not args.dry_run
    account = (session.client("sts").get_caller_identity()["Account"] if live else r.ACCOUNT_PLACEHOLDER)
    plan = Plan(stage=args.stage, out=out,
                artifact_bucket=args.artifact_bucket or r.bucket_name(args.stage, "artifacts", account),
                image_uri=args.image_uri or f"{account}.dkr.ecr.{r.REGION}.amazonaws.com/{r.APP_NAME}@sha256:<digest>",
                scoring_image_uri=args.scoring_image_uri
                or f"{account}.dkr.ecr.{r.REGION}.amazonaws.com/{r.APP_NAME}-scoring@sha256:<digest>",
                receiving_domain=args.receiving_domain or f"receipts.{args.stage}.example.com")
    if not live:
        reason = "--dry-run" if args.dry_run else "no AWS credentials found"
        print(f"dry run ({reason}): nothing was changed. A deploy would:")
        for i, step in enumerate(describe(plan), 1):
            print(f"  {i}. {step}")
    else:
        if not (args.image_uri and args.scoring_image_uri):
            print("--image-uri and --scoring-image-uri are required for a real deploy (build and push "
                  f"{', '.join(d for d, _, _ in t.IMAGES.values())} first)", file=sys.stderr)
            return 2
        outputs = Deployer(session).run(plan)
        for stack, values in outputs.items():
            for key, value in values.items():
                print(f"{stack}.{key} = {value}")
    print("then, once per stage:")
    for step in AFTER_DEPLOY:
        print(f"  - {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
