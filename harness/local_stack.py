"""Builds the deployment's resources on moto (in-process `mock_aws` or moto's server) from infra/resources.py.

The calls are the AWS API calls a deployment makes: tables with the same keys, indexes and stream; buckets
with default encryption and an S3 -> SQS notification; queues with their dead-letter redrive; the SNS topic;
Lambda functions whose Handler strings are the project's real handlers; the event-source mappings; and the
state machine from the ASL file with the same substitutions CloudFormation applies.
Local-only additions are plumbing and say so: `approver-inbox` and `employee-inbox` SQS queues subscribed to
the two notification topics (standing in for people's e-mail and push), a `telephony-outbox` queue standing in
for the SMS/voice provider, and dev signing keys for `POST /dev/token`.
Sign-in is the deployment's: a Cognito user pool on moto (cognito-idp) with the sample organisation's users (each
with `sample_org.LOCAL_PASSWORD`) in groups named after their roles, and a web client. The API checks tokens
against the pool's JWKS as deployed; moto's server publishes it at its own address, so AUTH_JWKS_URL points there
(`AWS_ENDPOINT_URL`) and the page's InitiateAuth goes there too (COGNITO_ENDPOINT); moto has no Hosted UI.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from chalicelib.adapters.tokens import new_dev_keypair
from chalicelib.domain.directory import Employee
from infra import resources as r

LOCAL_ONLY_INBOX = "approver-inbox"
LOCAL_ONLY_EMPLOYEE_INBOX = "employee-inbox"
# plumbing standing in for people's phones
LOCAL_ONLY_QUEUES = (LOCAL_ONLY_INBOX, LOCAL_ONLY_EMPLOYEE_INBOX, "telephony-outbox")


def _placeholder_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "Local stack: the handler is imported in-process by harness/lambda_shim.py.\n")
    return buf.getvalue()


@dataclass
class LocalStack:
    stage: str = "local"
    public_base_url: str = "http://127.0.0.1:8000"
    env: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=r.REGION)

    def environment(self) -> dict[str, str]:
        env = r.lambda_environment(self.stage)
        env["PUBLIC_BASE_URL"] = self.public_base_url
        env["POWERTOOLS_METRICS_NAMESPACE"] = "HkExpense"
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
        return env

    def create(self) -> LocalStack:
        """Create everything; also exports the Lambda environment into this process (see lambda_shim)."""
        self.env = self.environment()
        self._user_pool()  # first: its ids are part of the environment every function receives
        os.environ.update(self.env)
        self._tables()
        self._buckets_and_queues()
        self._topic()
        self._secrets()
        self._kms_keys()
        self._functions()
        self._stream_failures_to_dlq()
        self._notifications()
        self._state_machine()
        return self

    def name(self, logical: str) -> str:
        return r.physical_name(self.stage, logical)

    def _user_pool(self) -> None:
        from harness import sample_org

        idp = self.client("cognito-idp")
        pool = idp.create_user_pool(
            PoolName=self.name(r.USER_POOL),
            UsernameConfiguration={"CaseSensitive": False},
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
            Schema=[{"Name": name, "AttributeDataType": "String", "Mutable": False}
                    for name in r.USER_POOL_CUSTOM_ATTRIBUTES],
        )["UserPool"]
        pool_id = pool["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id, ClientName=r.client_id_placeholder(self.stage), GenerateSecret=False,
            ExplicitAuthFlows=list(r.AUTH_FLOWS), AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=list(r.OAUTH_SCOPES), SupportedIdentityProviders=["COGNITO"],
            CallbackURLs=[self.public_base_url + r.SIGNIN_PATH], LogoutURLs=[self.public_base_url + r.SIGNIN_PATH],
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
        for role in r.USER_POOL_GROUPS:
            idp.create_group(UserPoolId=pool_id, GroupName=role)
        self.arns["user_pool"] = pool_id
        self.arns["user_pool_client"] = client_id
        for person in sample_org.EMPLOYEES:
            self.add_user(person)
        issuer = r.issuer(pool_id)
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")  # moto's server, when one runs
        # in-process (mock_aws) moto answers the real address; its server publishes the keys at its own
        jwks = f"{endpoint}/{pool_id}/.well-known/jwks.json" if endpoint else issuer + "/.well-known/jwks.json"
        self.env.update(AUTH_ISSUER=issuer, AUTH_CLIENT_ID=client_id, AUTH_HOSTED_UI_DOMAIN="", AUTH_JWKS_URL=jwks,
                        COGNITO_ENDPOINT=endpoint + "/" if endpoint else r.cognito_endpoint())

    def add_user(self, person: Employee, password: str | None = None) -> None:
        """A pool user for a directory employee, as an administrator creates one (username = employee id), with a
        permanent password (the sample one unless given) and a group per role."""
        from harness import sample_org

        idp, pool_id = self.client("cognito-idp"), self.arns["user_pool"]
        idp.admin_create_user(UserPoolId=pool_id, Username=person.employee_id, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "custom:employee_id", "Value": person.employee_id},
                                              {"Name": "email", "Value": person.email},
                                              {"Name": "email_verified", "Value": "true"}])
        idp.admin_set_user_password(UserPoolId=pool_id, Username=person.employee_id,
                                    Password=password or sample_org.LOCAL_PASSWORD, Permanent=True)
        for role in person.roles:
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=person.employee_id, GroupName=role)

    def id_token(self, employee_id: str, password: str | None = None) -> str:
        """Signs in as the page does (USER_PASSWORD_AUTH against the pool); returns the ID token."""
        from harness import sample_org

        answer = self.client("cognito-idp").initiate_auth(
            ClientId=self.arns["user_pool_client"], AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": employee_id, "PASSWORD": password or sample_org.LOCAL_PASSWORD})
        return answer["AuthenticationResult"]["IdToken"]

    def _tables(self) -> None:
        ddb = self.client("dynamodb")
        for table in r.TABLES:
            kwargs: dict[str, Any] = {
                "TableName": self.name(table.logical),
                **r.table_keys(table),
                "BillingMode": "PAY_PER_REQUEST",
                "SSESpecification": {"Enabled": True},
            }
            if table.stream:
                kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
            desc = ddb.create_table(**kwargs)["TableDescription"]
            self.arns[f"table:{table.logical}"] = desc["TableArn"]
            if table.stream:
                self.arns[f"stream:{table.logical}"] = desc["LatestStreamArn"]
            if table.ttl_attribute:
                ddb.update_time_to_live(
                    TableName=self.name(table.logical),
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
                )

    def _buckets_and_queues(self) -> None:
        s3, sqs = self.client("s3"), self.client("sqs")
        for bucket in r.BUCKETS:
            name = r.bucket_name(self.stage, bucket)
            locked = bucket == r.AUDIT_ARCHIVE  # Object Lock can only be turned on when the bucket is created
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": r.REGION},
                             **({"ObjectLockEnabledForBucket": True} if locked else {}))
            if locked:
                mode, period = r.AUDIT_ARCHIVE_RETENTION[self.stage]
                s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, **period}}})
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
                },
            )
            if bucket in r.VERSIONED_BUCKETS:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            for b, methods in r.BROWSER_UPLOAD_BUCKETS:
                if b == bucket:  # the demo page's origin
                    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [{
                        "AllowedMethods": list(methods), "AllowedHeaders": ["Content-Type"], "MaxAgeSeconds": 3000,
                        "AllowedOrigins": [self.public_base_url]}]})
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True, "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
                },
            )
        for queue in sorted(r.QUEUES, key=lambda q: q.dead_letter is not None):  # DLQs first
            attributes = {"VisibilityTimeout": str(queue.visibility_timeout)}
            if queue.dead_letter:
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": self.arns[f"queue:{queue.dead_letter}"],
                     "maxReceiveCount": str(queue.max_receive_count)}
                )
            url = sqs.create_queue(QueueName=self.name(queue.logical), Attributes=attributes)["QueueUrl"]
            self.arns[f"queue:{queue.logical}"] = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            self.arns[f"queue_url:{queue.logical}"] = url

    def _notifications(self) -> None:
        """After the consumers exist, as in the template, so S3's test event is consumed like any other."""
        s3 = self.client("s3")
        for bucket in sorted({b for b, _, _ in r.BUCKET_NOTIFICATIONS}):
            s3.put_bucket_notification_configuration(
                Bucket=r.bucket_name(self.stage, bucket),
                NotificationConfiguration={"QueueConfigurations": [
                    {"QueueArn": self.arns[f"queue:{queue}"], "Events": ["s3:ObjectCreated:*"],
                     "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}}
                    for b, queue, prefix in r.BUCKET_NOTIFICATIONS if b == bucket
                ]},
            )

    def _topic(self) -> None:
        sns, sqs = self.client("sns"), self.client("sqs")
        for topic in r.TOPICS:
            self.arns[f"topic:{topic}"] = sns.create_topic(Name=self.name(topic))["TopicArn"]
        outbox = sqs.create_queue(QueueName=self.env["TELEPHONY_OUTBOX_QUEUE"])["QueueUrl"]
        self.arns["queue_url:telephony-outbox"] = outbox
        for inbox, topic in ((LOCAL_ONLY_INBOX, "approver-notifications"),
                             (LOCAL_ONLY_EMPLOYEE_INBOX, "employee-notifications")):
            url = sqs.create_queue(QueueName=self.name(inbox))["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.arns[f"queue_url:{inbox}"] = url
            sns.subscribe(TopicArn=self.arns[f"topic:{topic}"], Protocol="sqs", Endpoint=arn,
                          Attributes={"RawMessageDelivery": "true"})

    def _secrets(self) -> None:
        sm = self.client("secretsmanager")
        private, _ = new_dev_keypair()
        values = {
            "approval-link-key": secrets.token_urlsafe(48),
            "dev-signing-key": private,  # its public half is derived by the API (DevTokenIssuer.public_jwks)
            "ledger-credentials": "{}",  # the sample company posts to the internal ledger: no vendor connected
        }
        for logical in r.SECRETS:
            sm.create_secret(Name=self.name(logical), SecretString=values[logical])

    def _kms_keys(self) -> None:
        kms = self.client("kms")
        for logical, (spec, usage) in r.KMS_KEYS.items():
            key = kms.create_key(KeySpec=spec, KeyUsage=usage, Description=f"{self.name(logical)}")["KeyMetadata"]
            kms.create_alias(AliasName=f"alias/{self.name(logical)}", TargetKeyId=key["KeyId"])
            self.arns[f"kms:{logical}"] = key["Arn"]

    def _functions(self) -> None:
        iam, lam = self.client("iam"), self.client("lambda")
        role = iam.create_role(
            RoleName=self.name("lambda-role"),
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ]}
            ),
        )["Role"]["Arn"]
        self.arns["role:lambda"] = role
        code = _placeholder_zip()
        for fn in r.FUNCTIONS:
            arn = lam.create_function(
                FunctionName=r.function_name(self.stage, fn.logical),
                Runtime="python3.11",
                Role=role,
                Handler=fn.handler,
                Code={"ZipFile": code},
                Timeout=fn.timeout_s,
                MemorySize=fn.memory_mb,
                Environment={"Variables": self.env},
            )["FunctionArn"]
            self.arns[f"function:{fn.logical}"] = arn
        for source in r.EVENT_SOURCES:
            if source.source_kind == "sqs":
                source_arn = self.arns[f"queue:{source.source}"]
                extra: dict[str, Any] = {}
            else:
                source_arn = self.arns[f"stream:{source.source}"]
                extra = {"StartingPosition": "LATEST"}
            lam.create_event_source_mapping(
                EventSourceArn=source_arn,
                FunctionName=r.function_name(self.stage, source.function),
                BatchSize=source.batch_size,
                Enabled=True,
                FunctionResponseTypes=list(source.response_types),
                **extra,
            )

    def _stream_failures_to_dlq(self) -> None:
        """The ESM's OnFailure destination in the template; the shim calls this after its last retry."""
        from harness import lambda_shim

        sqs = self.client("sqs")
        url = self.arns["queue_url:claims-stream-dlq"]

        def to_dlq(function_name: str, event: dict, error: str) -> None:
            records = event.get("Records", [])
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
                "requestContext": {"functionArn": function_name, "condition": "RetryAttemptsExhausted",
                                   "approximateInvokeCount": lambda_shim.STREAM_ATTEMPTS},
                "responseContext": {"functionError": error[-2000:]},
                "DDBStreamBatchInfo": {
                    "shardId": "local", "batchSize": len(records),
                    "streamArn": records[0].get("eventSourceARN") if records else None,
                    "startSequenceNumber": records[0]["dynamodb"].get("SequenceNumber") if records else None,
                    "endSequenceNumber": records[-1]["dynamodb"].get("SequenceNumber") if records else None,
                },
            }))

        lambda_shim.on_stream_failure = to_dlq

    def _state_machine(self) -> None:
        sfn = self.client("stepfunctions")
        values = {placeholder: self.arns[f"function:{fn}"] for placeholder, fn in r.ASL_SUBSTITUTIONS.items()}
        for logical, path in r.STATE_MACHINES.items():
            definition = r.substitute(path.read_text(encoding="utf-8"), values)
            arn = sfn.create_state_machine(
                name=self.name(logical), definition=definition, roleArn=self.arns["role:lambda"], type="STANDARD"
            )["stateMachineArn"]
            if arn != self.env[r.env_key(logical, "STATE_MACHINE_ARN")]:
                raise RuntimeError(f"state machine ARN {arn} differs from the configured one")
            self.arns[f"state_machine:{logical}"] = arn

    # A stopped execution whose last event is one of these is parked: moto's Wait state and `.waitForTaskToken`
    # wait ignore a stop that lands just before (or, for the token, while) they wait, so it stays listed as
    # RUNNING until its timer runs out, and then its stopped program ends without running another state.
    PARKED = frozenset({"WaitStateEntered", "TaskSubmitted"})

    def stop_running_executions(self, seconds: float = 180.0) -> int:
        """Tests end with this so a waiting execution cannot outlive its stack and act in the next one: stop every
        running execution, and any that one starts meanwhile (a reminder ladder), and return once each has ended
        or is parked (see PARKED), i.e. runs nothing more. `seconds` only bounds a hang."""
        sfn, stopped = self.client("stepfunctions"), set()
        deadline = time.monotonic() + seconds
        while True:
            running = [ex["executionArn"] for logical in r.STATE_MACHINES
                       if (arn := self.arns.get(f"state_machine:{logical}"))
                       for ex in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]]
            fresh = [execution_arn for execution_arn in running if execution_arn not in stopped]
            for execution_arn in fresh:
                with contextlib.suppress(Exception):  # moto may refuse a stop in a race; the next pass asks again
                    sfn.stop_execution(executionArn=execution_arn, cause="test stack torn down")
                    stopped.add(execution_arn)
            busy = [execution_arn for execution_arn in running if execution_arn in stopped
                    and self._last_event(sfn, execution_arn) not in self.PARKED]
            if not fresh and not busy:
                return len(stopped)
            if time.monotonic() > deadline:
                raise RuntimeError(f"executions still running {seconds:.0f}s after being stopped: {busy or fresh}")
            time.sleep(0.05)  # moto offers no completion event for executions: look again until all have settled

    @staticmethod
    def _last_event(sfn: Any, execution_arn: str) -> str | None:
        """The type of the execution's newest event. moto cannot always build the history of an execution stopped
        while it was entering a task (it raises): one already stopped whose history cannot be read counts as
        parked, so teardown does not fail on moto's error; `lambda_shim.drain()` still waits for any handler it
        started."""
        try:
            events = sfn.get_execution_history(executionArn=execution_arn)["events"]
        except Exception:  # noqa: BLE001 (moto's own error, whatever its kind)
            return "TaskSubmitted"
        return events[-1]["type"] if events else None

    # ---- helpers for the demo and tests (reading what the local-only inbox received) ----------------------

    def approver_messages(self, wait_seconds: int = 0) -> list[dict]:
        return self._drain("queue_url:approver-inbox", wait_seconds)

    def employee_messages(self, wait_seconds: int = 0) -> list[dict]:
        return self._drain(f"queue_url:{LOCAL_ONLY_EMPLOYEE_INBOX}", wait_seconds)

    def telephony_messages(self, wait_seconds: int = 0) -> list[dict]:
        return self._drain("queue_url:telephony-outbox", wait_seconds)

    def _drain(self, queue: str, wait_seconds: int) -> list[dict]:
        sqs = self.client("sqs")
        url = self.arns[queue]
        out = []
        while True:
            resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
            messages = resp.get("Messages", [])
            if not messages:
                return out
            for m in messages:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            wait_seconds = 0
