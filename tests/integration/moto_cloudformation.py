"""Deploying the packaged template on moto's CloudFormation: what it takes, and what moto cannot create.

moto (the pinned 5.2.5) implements CloudFormation for the resource types whose models subclass
`CloudFormationModel` (moto/cloudformation/parsing.py `get_model_map()`, read at run time below, so an upgrade
that adds a type widens the deployed part by itself). It does not run the SAM transform, so `sam_to_cfn` does
what the transform does to the two SAM types the template uses (AWS::Serverless::Function ->
AWS::Lambda::Function with the code in S3; AWS::Serverless::Api -> AWS::ApiGateway::RestApi + Deployment),
and `supported_subset` removes the resources of types moto does not model, replacing each reference to them
with a visible marker, and lists them: the test reports that list instead of pretending they deployed.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

UNSUPPORTED = "unsupported-on-moto"
# Deployed, but not wholly: what moto's model of the type leaves out
PARTIAL = {"AWS::ApiGateway::RestApi": "moto creates the API but ignores its OpenAPI Body (routes, integrations), "
                                      "so the SAM stage and deployment are not created"}


def supported_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


def _tags(tags: dict | None) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def sam_to_cfn(template: dict, code_bucket: str, code_key: str) -> dict:
    """The SAM transform's result for AWS::Serverless::Function and AWS::Serverless::Api (as CloudFormation
    expands them: github.com/aws/serverless-application-model, samtranslator/model/sam_resources.py)."""
    out = copy.deepcopy(template)
    out.pop("Transform", None)
    resources = out["Resources"]
    for logical, resource in list(resources.items()):
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            if props.get("Events"):
                raise NotImplementedError(f"{logical}: SAM Events are not expanded here")
            fn: dict[str, Any] = {k: props[k] for k in (
                "FunctionName", "Handler", "Runtime", "MemorySize", "Timeout", "Role", "Environment",
                "Architectures", "KmsKeyArn", "ReservedConcurrentExecutions", "PackageType", "ImageConfig",
                "VpcConfig") if k in props}
            fn["Code"] = ({"ImageUri": props["ImageUri"]} if props.get("PackageType") == "Image"
                          else {"S3Bucket": code_bucket, "S3Key": code_key})
            if props.get("Tracing"):
                fn["TracingConfig"] = {"Mode": props["Tracing"]}
            if props.get("DeadLetterQueue"):
                fn["DeadLetterConfig"] = {"TargetArn": props["DeadLetterQueue"]["TargetArn"]}
            fn["Tags"] = _tags({"lambda:createdBy": "SAM", **(props.get("Tags") or {})})
            resources[logical] = {**{k: v for k, v in resource.items() if k != "Properties"},
                                  "Type": "AWS::Lambda::Function", "Properties": fn}
        elif resource.get("Type") == "AWS::Serverless::Api":
            endpoint = props.get("EndpointConfiguration")
            api: dict[str, Any] = {"Name": logical, "Body": props.get("DefinitionBody", {})}
            if endpoint:
                api["EndpointConfiguration"] = {"Types": [endpoint if isinstance(endpoint, str)
                                                          else endpoint["Type"]]}
            # SAM adds an AWS::ApiGateway::Deployment and Stage too; moto's RestApi model ignores `Body`, so a
            # Deployment fails there ("doesn't contain any methods"): PARTIAL says so instead of faking it
            resources[logical] = {"Type": "AWS::ApiGateway::RestApi", "Properties": api}
    return out


def _strip(value: Any, dropped: set[str]) -> Any:
    """`value` with every Ref/GetAtt/Sub of a dropped resource replaced by a marker string."""
    if isinstance(value, dict):
        if "Ref" in value and value["Ref"] in dropped:
            return f"{UNSUPPORTED}:{value['Ref']}"
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"][0] if isinstance(value["Fn::GetAtt"], list) else value["Fn::GetAtt"]
            if str(target).split(".")[0] in dropped:
                return f"{UNSUPPORTED}:{target}"
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            text = re.sub(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}",
                          lambda m: f"{UNSUPPORTED}-{m.group(1)}" if m.group(1) in dropped else m.group(0),
                          value["Fn::Sub"])
            return {"Fn::Sub": text}
        return {k: _strip(v, dropped) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip(v, dropped) for v in value]
    return value


def supported_subset(template: dict, supported: set[str] | None = None) -> tuple[dict, dict[str, str]]:
    """(the template without the resources moto cannot model, {logical id: type} of those left out)."""
    supported = supported_types() if supported is None else supported
    dropped = {k: v["Type"] for k, v in template["Resources"].items() if v["Type"] not in supported}
    out = copy.deepcopy(template)
    out["Resources"] = {}
    for logical, resource in template["Resources"].items():
        if logical in dropped:
            continue
        kept = _strip(resource, set(dropped))
        depends = kept.get("DependsOn")
        if depends:
            depends = [depends] if isinstance(depends, str) else depends
            kept["DependsOn"] = [d for d in depends if d not in dropped]
            if not kept["DependsOn"]:
                kept.pop("DependsOn")
        out["Resources"][logical] = kept
    out["Outputs"] = _strip(template.get("Outputs", {}), set(dropped))
    return out, dropped


def unresolved(outputs: list[dict]) -> dict[str, str]:
    """Stack outputs whose value did not resolve (a marker, an unsubstituted ${...}, or empty)."""
    return {o["OutputKey"]: o.get("OutputValue", "") for o in outputs
            if not o.get("OutputValue") or UNSUPPORTED in o["OutputValue"] or "${" in o["OutputValue"]}


def dumps(template: dict) -> str:
    return json.dumps(template)
