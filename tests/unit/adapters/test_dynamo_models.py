"""The PynamoDB models against infra/resources.py, the one definition of the tables: a renamed key, a changed
attribute type or index, or a table the code reads under another name breaks this test, not production."""

from __future__ import annotations

import pytest

from chalicelib.adapters import dynamo_models
from chalicelib.config import Settings
from infra import resources as r

TABLES = {t.logical: t for t in r.TABLES}


def _keys(key_schema: list[dict]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in key_schema}


def test_every_table_but_powertools_idempotency_has_a_model():
    assert set(dynamo_models.MODELS) == set(TABLES) - {"idempotency"}


@pytest.mark.parametrize("logical", sorted(dynamo_models.MODELS))
def test_model_keys_attribute_types_and_indexes_match_the_resource(logical):
    schema = dynamo_models.MODELS[logical]._get_schema()
    wanted = r.table_keys(TABLES[logical])  # what CreateTable and the template receive

    assert _keys(schema["key_schema"]) == _keys(wanted["KeySchema"])
    declared = {a["AttributeName"]: a["AttributeType"] for a in wanted["AttributeDefinitions"]}
    assert {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]} == declared
    indexes = {ix["index_name"]: ix for ix in schema["global_secondary_indexes"]}
    assert set(indexes) == {ix["IndexName"] for ix in wanted.get("GlobalSecondaryIndexes", [])}
    for ix in wanted.get("GlobalSecondaryIndexes", []):
        mine = indexes[ix["IndexName"]]
        assert _keys(mine["key_schema"]) == _keys(ix["KeySchema"])
        assert mine["projection"] == ix["Projection"]
        assert {a["AttributeName"]: a["AttributeType"] for a in mine["attribute_definitions"]} == {
            name: declared[name] for name in _keys(ix["KeySchema"]).values()}
    assert not schema["local_secondary_indexes"]


def test_models_take_table_names_and_region_from_settings():
    env = r.lambda_environment("staging")
    dynamo_models.bind(Settings.from_env(env))
    try:
        for logical, model in dynamo_models.MODELS.items():
            assert model.Meta.table_name == r.physical_name("staging", logical)
            assert model.Meta.region == r.REGION
    finally:
        from chalicelib import bootstrap

        dynamo_models.bind(bootstrap.container().settings)

