"""CloudWatch alarms for what must never fail quietly, all to one encrypted ops topic DevOps subscribes to.

Each failure path of the pipeline ends somewhere visible to a person: a claim status (the employee and finance
see it), or a dead-letter queue, a failed execution or a Lambda error, which nobody sees unless an alarm says
so. One alarm per dead-letter queue (a message there is a receipt, an e-mail or a stream batch waiting for a
person), per state machine (failed or timed-out executions) and per function (errors), derived from
infra/resources.py so a new queue or function cannot be left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra import resources as r

OPS_TOPIC = "ops-alerts"
PERIOD_S = 300


def ops_topic_id() -> str:
    return "OpsAlertsTopic"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def _alarm(stage: str, name: str, description: str, namespace: str, metric: str, statistic: str,
           dimensions: list[dict]) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": f"{r.physical_name(stage, name)}",
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions,
            "Statistic": statistic,
            "Period": PERIOD_S,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": ops_topic_id()}],
            "OKActions": [{"Ref": ops_topic_id()}],
        },
    }


def dead_letter_queues() -> tuple[str, ...]:
    targets = {q.dead_letter for q in r.QUEUES if q.dead_letter}
    return tuple(q.logical for q in r.QUEUES if q.logical in targets or q.logical.endswith("-dlq"))


def resources(stage: str, functions: tuple[r.Function, ...], queue_id: Callable[[str], str],
              state_machine_id: Callable[[str], str]) -> dict[str, dict[str, Any]]:
    """The ops topic and every alarm, keyed by logical id (infra/template.py passes its id helpers)."""
    out: dict[str, dict[str, Any]] = {
        ops_topic_id(): {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": r.physical_name(stage, OPS_TOPIC), "KmsMasterKeyId": "alias/aws/sns"}},
    }
    for queue in dead_letter_queues():
        out[f"{_camel(queue)}Alarm"] = _alarm(
            stage, f"{queue}-not-empty",
            f"{queue}: a message is waiting for a person (it failed every automatic retry)",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(queue), "QueueName"]}}])
    for machine in r.STATE_MACHINES:
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
            if machine == "reminders" and metric == "ExecutionsAborted":
                continue  # deciding a step stops its reminders: aborts are the normal case there
            out[f"{_camel(machine)}{metric}Alarm"] = _alarm(
                stage, f"{machine}-{metric.lower()}", f"{machine} state machine: {metric}",
                "AWS/States", metric, "Sum",
                [{"Name": "StateMachineArn", "Value": {"Ref": state_machine_id(machine)}}])
    out["ClaimsFailedAlarm"] = _alarm(
        stage, "claims-failed", "an approval flow ended a claim as failed (its reason is on the claim)",
        "AWS/Lambda", "Invocations", "Sum",
        [{"Name": "FunctionName", "Value": r.function_name(stage, "mark_failed")}])
    for fn in functions:
        out[f"{_camel(fn.logical)}ErrorsAlarm"] = _alarm(
            stage, f"{fn.logical.replace('_', '-')}-errors", f"{fn.logical}: invocations ended in an error",
            "AWS/Lambda", "Errors", "Sum",
            [{"Name": "FunctionName", "Value": r.function_name(stage, fn.logical)}])
    return out
