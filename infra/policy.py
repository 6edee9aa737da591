"""Policy checks on the packaged templates, beside cfn-lint: CloudFormation Guard rules and the secrets check.

* infra/policy/rules.guard: the checkov / Guard-registry rules that apply to this stack, run with cfn-guard-rs
  (cfn-guard's engine as a Python wheel; checkov itself would downgrade boto3 and botocore in this venv).
* infra/policy/suppressions.json: the ONE place where a failing rule is excused, per rule and resource (or "*"),
  each with the reason; a suppression that no longer matches anything is itself reported (so the file stays true).
  cfn-lint's ignored checks are listed there too.
* plain_secrets(): no secret value in a template's environment variables or properties: secrets live in Secrets
  Manager (the template names them; the functions read them at run time).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra import resources as r

POLICY_DIR = r.ROOT / "infra" / "policy"
RULES = POLICY_DIR / "rules.guard"
SUPPRESSIONS = POLICY_DIR / "suppressions.json"
# Subtrees no rule reads, replaced before Guard sees a resource: cfn-guard-rs 0.3.3 garbles reports over 8 KiB
# (it returns only the last partial buffer), and a failing clause echoes the value it reached.
OMITTED = ("Definition", "DefinitionBody", "DefinitionSubstitutions", "Tags", "KeyPolicy", "CorsConfiguration",
           "NotificationConfiguration", "Schema", "Events")


@dataclass(frozen=True)
class Finding:
    rule: str
    resource: str
    message: str


def _rules_text(path: Path = RULES) -> tuple[str, list[tuple[str, str]]]:
    text = path.read_text("utf-8")
    lets = "\n".join(line for line in text.splitlines() if line.startswith("let "))
    rules = [(m.group(1), m.group(0)) for m in re.finditer(r"^rule (\w+).*?^\}", text, re.S | re.M)]
    return lets, rules


def _guard_view(resource: dict) -> dict:
    """The resource as the rules need it: environment variable names without values, big subtrees omitted."""
    view = copy.deepcopy(resource)
    props = view.get("Properties") or {}
    variables = (props.get("Environment") or {}).get("Variables")
    if variables:
        props["Environment"]["Variables"] = {name: "-" for name in variables}
    for key in OMITTED:
        if key in props:
            props[key] = "(omitted)"
    return view


def guard_findings(template: dict, rules_path: Path = RULES) -> list[Finding]:
    """Every (rule, resource) that fails, one resource and one rule at a time (see OMITTED)."""
    from cfn_guard_rs.cfn_guard_rs import run_checks_rs  # the engine; imported here: packaging-time only

    lets, rules = _rules_text(rules_path)
    findings = []
    for logical, resource in template.get("Resources", {}).items():
        if "Type" not in resource:  # a merge fragment (Chalice supplies the type)
            continue
        data = json.dumps({"Resources": {logical: _guard_view(resource)}})
        for name, rule in rules:
            raw = run_checks_rs(data, f"{lets}\n{rule}", False)
            try:
                report = json.loads(raw)
            except json.JSONDecodeError as exc:  # never pass silently
                raise RuntimeError(f"cfn-guard's report for {logical}/{name} is unreadable (too large?)") from exc
            if report["not_compliant"]:
                findings.append(Finding(name, logical, _message(report["not_compliant"])))
    return findings


def _message(not_compliant: list) -> str:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            messages = node.get("messages")
            if isinstance(messages, dict) and messages.get("custom_message"):
                found.append(messages["custom_message"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(not_compliant)
    return found[0] if found else "not compliant"


def load_suppressions(path: Path = SUPPRESSIONS) -> dict:
    data = json.loads(path.read_text("utf-8"))
    for entry in data.get("guard", []) + data.get("cfn_lint", []):
        if len(entry.get("why", "").strip()) < 20:
            raise ValueError(f"suppression {entry} has no real justification ('why')")
    return data


def unsuppressed(findings: list[Finding], suppressions: dict) -> tuple[list[Finding], list[dict]]:
    """(findings no suppression covers, suppressions that covered nothing)."""
    entries = suppressions.get("guard", [])
    used: set[int] = set()
    left = []
    for finding in findings:
        match = next((i for i, e in enumerate(entries) if e["rule"] == finding.rule
                      and (e["resources"] == "*" or finding.resource in e["resources"])), None)
        if match is None:
            left.append(finding)
        else:
            used.add(match)
    return left, [e for i, e in enumerate(entries) if i not in used]


def cfn_lint_ignored(suppressions: dict) -> list[str]:
    return [entry["rule"] for entry in suppressions.get("cfn_lint", [])]


# --- secrets ------------------------------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY)", re.I)
SECRET_VALUE = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|\"d\"\s*:\s*\"[A-Za-z0-9_-]{20,}|xox[baprs]-|"
    r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.)")
# What a secret-named variable may hold: the name of one of this app's secrets (Secrets Manager / SSM parameter),
# an ARN, a KMS alias, a URL or an issuer urn, or a flag
REFERENCE = re.compile(rf"^(arn:aws[-a-z]*:(secretsmanager|ssm|kms):|alias/|https://|urn:|/?{r.APP_NAME}-[a-z0-9/_-]+$"
                       r"|true$|false$|\d+$)")


def plain_secrets(template: dict) -> list[str]:
    """Secret values written into a template: environment variables, secret resources with a literal value."""
    found = []
    for logical, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        variables = (props.get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if not isinstance(value, str):
                continue  # a CloudFormation reference (Ref/GetAtt/Sub) to a resource, never a literal secret
            if SECRET_VALUE.search(value):
                found.append(f"{logical}: environment variable {name} holds a secret value")
            elif SECRET_NAME.search(name) and value and not REFERENCE.match(value):
                found.append(f"{logical}: environment variable {name} is not a Secrets Manager/SSM reference")
        if resource.get("Type") == "AWS::SecretsManager::Secret":
            literal = props.get("SecretString")
            if literal not in (None, "{}"):  # generated, or an empty shape filled in after deploy
                found.append(f"{logical}: the secret's value is written in the template")
        text = json.dumps(props)
        if SECRET_VALUE.search(text) and not any(logical in f for f in found):
            found.append(f"{logical}: a property holds what looks like a key or token")
        for parameter, spec in template.get("Parameters", {}).items():
            if SECRET_NAME.search(parameter) and spec.get("Default") and not spec.get("NoEcho"):
                found.append(f"parameter {parameter}: a secret with a default value and no NoEcho")
    return sorted(set(found))


def check(template: dict, suppressions: dict | None = None) -> dict:
    """Guard findings (after suppressions), stale suppressions and plain secrets, for the package report."""
    suppressions = load_suppressions() if suppressions is None else suppressions
    findings = guard_findings(template)
    left, stale = unsuppressed(findings, suppressions)
    return {"guard_findings": len(findings), "guard_failures": [f.__dict__ for f in left],
            "stale_suppressions": stale, "plain_secrets": plain_secrets(template)}
