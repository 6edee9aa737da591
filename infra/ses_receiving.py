"""The e-mail intake's only resources outside Hong Kong: an SES receiving rule in SES_RECEIVING_REGION.

SES receiving is not offered in ap-east-1. The rule's S3 action writes each raw message straight into the
Hong Kong raw-mail bucket under `inbound/`, through an IAM role (the SES developer guide requires the role for a
bucket in a region without SES receiving). Nothing is stored in the SES region: no SNS topic (it would carry
headers and addresses), no staging bucket. A separate stack, since CloudFormation is per region.
After creating it, activate the rule set once (`aws ses set-active-receipt-rule-set`, no CloudFormation
resource exists for that) and point the receiving domain's MX record at the region's inbound endpoint.
"""

from __future__ import annotations

from infra import resources as r


def _prefix() -> str:
    return next(prefix for bucket, _, prefix in r.BUCKET_NOTIFICATIONS if bucket == "raw-mail")


def build(stage: str) -> dict:
    bucket = r.bucket_name(stage, "raw-mail", "${AWS::AccountId}")  # the Hong Kong stack's, same account
    rule_set = r.physical_name(stage, "receipts")
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{r.APP_NAME} {stage}: SES receiving in {r.SES_RECEIVING_REGION}, raw mail into {r.REGION}",
        "Parameters": {
            "ReceivingDomain": {"Type": "String", "Default": f"receipts.{stage}.example.com",
                                "Description": "Employees forward receipts to any address at this domain"},
            "DataKeyArn": {"Type": "String", "AllowedPattern": f"^arn:aws:kms:{r.REGION}:[0-9]{{12}}:key/.+$",
                           "Description": f"the Hong Kong stack's DataKeyArn output: the raw-mail bucket's "
                                          f"SSE-KMS key in {r.REGION}"},
        },
        "Resources": {
            "SesWriteRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"Service": "ses.amazonaws.com"}, "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }]},
                    "Policies": [{"PolicyName": "WriteRawMailToHongKong", "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:PutObject",
                             "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}/{_prefix()}*"}},
                            # the bucket encrypts with the stage's key (SSE-KMS): S3 asks it for a data key
                            {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": {"Ref": "DataKeyArn"},
                             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{r.REGION}.amazonaws.com"}}},
                        ],
                    }}],
                },
            },
            "ReceiptRuleSet": {"Type": "AWS::SES::ReceiptRuleSet", "Properties": {"RuleSetName": rule_set}},
            "ReceiptRule": {
                "Type": "AWS::SES::ReceiptRule",
                "Properties": {
                    "RuleSetName": {"Ref": "ReceiptRuleSet"},
                    "Rule": {
                        "Name": f"{rule_set}-to-hk",
                        "Enabled": True,
                        "ScanEnabled": True,  # virus/spam verdicts reach the intake Lambda in the message headers
                        "TlsPolicy": "Require",
                        "Recipients": [{"Ref": "ReceivingDomain"}],
                        "Actions": [{"S3Action": {"BucketName": {"Fn::Sub": bucket}, "ObjectKeyPrefix": _prefix(),
                                                  "IamRoleArn": {"Fn::GetAtt": ["SesWriteRole", "Arn"]}}}],
                    },
                },
            },
        },
        "Outputs": {"RuleSetName": {"Value": {"Ref": "ReceiptRuleSet"}}},
    }
