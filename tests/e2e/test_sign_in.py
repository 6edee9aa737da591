"""Sign-in on the local stack as deployed: the user pool on moto, tokens from InitiateAuth (USER_PASSWORD_AUTH, as
the local sign-in page calls it), verified by the API against the pool's JWKS; roles and department from the
directory at request time; dev tokens only where the stage trusts the dev issuer."""

from __future__ import annotations

import json

import jwt
import pytest
from botocore.exceptions import ClientError

from chalicelib import bootstrap
from chalicelib.config import Settings
from harness import sample_org
from infra import resources as r


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_cognito_id_token_is_accepted_and_names_the_employee(driver, stack):
    token = stack.id_token("E201")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == bootstrap.container().settings.auth_issuer == r.issuer(stack.arns["user_pool"])
    assert claims["aud"] == stack.arns["user_pool_client"] and claims["custom:employee_id"] == "E201"
    assert set(claims["cognito:groups"]) == {"employee"}
    status, body = driver.call("GET", "/claims", None, bearer(token))
    assert status == 200, body
    assert bootstrap.container().jwks.stats.fetches == 1  # fetched from moto's JWKS address once, then cached
    assert driver.call("GET", "/expenses", None, bearer(token))[0] == 200
    assert bootstrap.container().jwks.stats.fetches == 1


def test_the_username_is_the_employee_id_in_any_case_and_passwords_are_checked(stack):
    idp = stack.client("cognito-idp")
    with pytest.raises(ClientError) as wrong:
        stack.id_token("E201", "not-the-password")
    assert wrong.value.response["Error"]["Code"] == "NotAuthorizedException"
    with pytest.raises(ClientError) as unknown:
        stack.id_token("E999")
    assert unknown.value.response["Error"]["Code"] in {"UserNotFoundException", "NotAuthorizedException"}
    users = {u["Username"] for u in idp.list_users(UserPoolId=stack.arns["user_pool"])["Users"]}
    assert users == {e.employee_id for e in sample_org.EMPLOYEES}
    members = {u["Username"] for u in idp.list_users_in_group(UserPoolId=stack.arns["user_pool"],
                                                              GroupName="finance")["Users"]}
    assert members == {e.employee_id for e in sample_org.EMPLOYEES if "finance" in e.roles}


def test_a_token_from_another_pool_is_refused(driver, stack):
    idp = stack.client("cognito-idp")
    other = idp.create_user_pool(PoolName="someone-elses", Schema=[
        {"Name": "employee_id", "AttributeDataType": "String", "Mutable": False}])["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=other, ClientName="theirs",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=other, Username="E900", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "custom:employee_id", "Value": "E900"}])
    idp.admin_set_user_password(UserPoolId=other, Username="E900", Password="Their-pass-2026", Permanent=True)
    token = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "E900", "PASSWORD": "Their-pass-2026"})["AuthenticationResult"]["IdToken"]
    status, body = driver.call("GET", "/claims", None, bearer(token))  # moto signs every pool with one key:
    assert status == 401 and "issuer" in body["error"]  # the issuer is what tells them apart


def test_a_tampered_token_and_an_access_token_are_refused(driver, stack):
    header, payload, signature = stack.id_token("E201").split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["custom:employee_id"] = "E900"  # make me the admin
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    status, body = driver.call("GET", "/claims", None, bearer(f"{header}.{forged}.{signature}"))
    assert status == 401 and "signature" in body["error"].lower()
    access = stack.client("cognito-idp").initiate_auth(
        ClientId=stack.arns["user_pool_client"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "E201", "PASSWORD": sample_org.LOCAL_PASSWORD})["AuthenticationResult"]
    assert driver.call("GET", "/claims", None, bearer(access["AccessToken"]))[0] == 401


def test_a_moved_employee_loses_the_old_department_at_once_and_a_removed_one_is_refused(driver, stack):
    token = stack.id_token("E300")  # finance in HK Sales; one token for every request below
    assert driver.call("GET", "/claims?department=HK-SALES", None, bearer(token))[0] == 200
    directory = bootstrap.container().directory
    directory.put_employee(directory.employee("E300").model_copy(update={"department_id": "SZ-OPS"}))
    status, body = driver.call("GET", "/claims?department=HK-SALES", None, bearer(token))
    assert status == 403, body
    assert driver.call("GET", "/claims?department=SZ-OPS", None, bearer(token))[0] == 200
    assert driver.call("GET", "/dashboard/summary", None, bearer(token))[0] == 200
    directory.put_employee(directory.employee("E300").model_copy(update={"roles": ["employee"]}))
    assert driver.call("GET", "/dashboard/summary", None, bearer(token))[0] == 403  # the finance role is gone
    from chalicelib.adapters.dynamo_models import DirectoryItem

    DirectoryItem.get("EMP#E300", "PROFILE").delete()  # left the company
    status, body = driver.call("GET", "/claims", None, bearer(token))
    assert status == 401 and "directory" in body["error"]


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_staging_and_prod_configure_no_dev_issuer(stage):
    env = r.lambda_environment(stage)
    settings = Settings.from_env(env)
    assert settings.dev_token_issuer is None and not settings.allow_dev_tokens
    assert "DEV_TOKEN_ISSUER" not in env


def test_dev_tokens_answer_404_and_are_refused_where_the_dev_issuer_is_off(driver, stack, monkeypatch):
    status, body = driver.call("POST", "/dev/token", {"employee_id": "E201"}, {})
    assert status == 200
    dev_token = body["token"]
    assert driver.call("GET", "/claims", None, bearer(dev_token))[0] == 200  # local: trusted
    staging = r.lambda_environment("staging")
    monkeypatch.setenv("ALLOW_DEV_TOKENS", staging["ALLOW_DEV_TOKENS"])
    monkeypatch.delenv("DEV_TOKEN_ISSUER")
    bootstrap.reset()  # a container configured as staging is
    assert bootstrap.container().dev_issuer is None
    status, body = driver.call("POST", "/dev/token", {"employee_id": "E201"}, {})
    assert status == 404, body
    status, body = driver.call("GET", "/claims", None, bearer(dev_token))
    assert status == 401 and "issuer" in body["error"]
    assert driver.call("GET", "/claims", None, bearer(stack.id_token("E201")))[0] == 200  # Cognito still works


def test_the_jwks_unreachable_is_a_503_not_a_500(driver, stack, monkeypatch):
    monkeypatch.setenv("AUTH_JWKS_URL", "https://cognito-idp.ap-east-1.amazonaws.com/ap-east-1_gone/x.json")
    bootstrap.reset()
    status, body = driver.call("GET", "/claims", None, bearer(stack.id_token("E201")))
    assert status == 503, body
    assert "sign-in keys" in body["error"]


def test_the_api_role_needs_no_cognito_or_secret_for_the_keys():
    """The keys are public, fetched over HTTPS: no Cognito permission, no JWKS secret to keep in step."""
    from infra import template as t

    actions = {a for s in t.function_policy("prod", t.all_functions()[0], t.access("prod")[t.API_HANDLER])
               ["Statement"] for a in s["Action"]}
    assert not any(a.startswith("cognito") for a in actions)
    assert "auth-jwks" not in r.SECRETS


def test_a_dev_key_not_yet_put_turns_dev_tokens_off_not_sign_in(driver, stack):
    """On a fresh dev deploy the dev-signing-key secret holds a generated string until someone puts a JWK."""
    stack.client("secretsmanager").put_secret_value(SecretId=stack.env["DEV_SIGNING_KEY_SECRET"],
                                                    SecretString="generated-not-a-jwk")
    bootstrap.reset()
    assert driver.call("POST", "/dev/token", {"employee_id": "E201"}, {})[0] == 404
    assert driver.call("GET", "/claims", None, bearer(stack.id_token("E201")))[0] == 200
