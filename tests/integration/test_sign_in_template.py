"""The deploy template's sign-in: one Cognito user pool per stage, its role groups, a public web client for the
Hosted UI's authorization-code + PKCE flow, the Hosted UI domain, and the API told where they are. The local stack's
pool on moto has the same shape."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.identity import Role
from infra import resources as r
from infra import template as t


@pytest.fixture(scope="module", params=["dev", "staging", "prod"])
def stage(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def merge(stage) -> dict:
    return t.build(stage)


def test_one_user_pool_whose_usernames_are_employee_ids(merge, stage):
    pools = {k: v for k, v in merge["Resources"].items() if v.get("Type") == "AWS::Cognito::UserPool"}
    assert list(pools) == [t.USER_POOL_ID]
    pool = pools[t.USER_POOL_ID]
    props = pool["Properties"]
    assert props["UserPoolName"] == f"hk-expense-{stage}-users"
    assert props["UsernameConfiguration"] == {"CaseSensitive": False}  # e201 signs in as E201
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True  # nobody signs themself up
    employee_id = next(a for a in props["Schema"] if a["Name"] == "employee_id")
    assert employee_id["AttributeDataType"] == "String" and employee_id["Mutable"] is False  # a user cannot edit it
    assert props["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["DeletionPolicy"] == "Retain" and pool["UpdateReplacePolicy"] == "Retain"
    assert props["DeletionProtection"] == ("ACTIVE" if stage == "prod" else "INACTIVE")


def test_groups_are_the_roles(merge):
    groups = {v["Properties"]["GroupName"] for v in merge["Resources"].values()
              if v.get("Type") == "AWS::Cognito::UserPoolGroup"}
    # every role a person can be granted (a delegate is a standing-in approver's column, never granted)
    assert groups == set(r.USER_POOL_GROUPS) == {role.value for role in Role} - {Role.DELEGATE.value}
    assert all(v["Properties"]["UserPoolId"] == {"Ref": t.USER_POOL_ID} for v in merge["Resources"].values()
               if v.get("Type") == "AWS::Cognito::UserPoolGroup")


def test_the_web_client_is_public_with_the_code_grant_only(merge):
    client = merge["Resources"][t.USER_POOL_CLIENT_ID]
    assert client["Type"] == "AWS::Cognito::UserPoolClient"
    props = client["Properties"]
    assert props["UserPoolId"] == {"Ref": t.USER_POOL_ID}
    assert props["GenerateSecret"] is False  # a browser keeps no secret: the code exchange is bound by PKCE
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert props["AllowedOAuthFlows"] == ["code"]  # no implicit grant (tokens in the URL)
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert props["SupportedIdentityProviders"] == ["COGNITO"]
    assert sorted(props["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                                                  "ALLOW_USER_SRP_AUTH"]
    signin = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/signin"}
    assert props["CallbackURLs"] == [signin] and props["LogoutURLs"] == [signin]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert "custom:employee_id" in props["ReadAttributes"] and "custom:employee_id" not in props["WriteAttributes"]
    assert props["IdTokenValidity"] == 60 and props["TokenValidityUnits"]["IdToken"] == "minutes"


def test_the_hosted_ui_domain_prefix_is_a_parameter(merge, stage):
    domain = merge["Resources"][t.USER_POOL_DOMAIN_ID]
    assert domain["Type"] == "AWS::Cognito::UserPoolDomain"
    assert domain["Properties"] == {"Domain": {"Ref": t.SIGNIN_DOMAIN_PARAMETER}, "UserPoolId": {"Ref": t.USER_POOL_ID}}
    parameter = merge["Parameters"][t.SIGNIN_DOMAIN_PARAMETER]
    assert parameter["Default"] == f"hk-expense-{stage}-signin"
    assert {"UserPoolId", "UserPoolWebClientId", "SignInHostedUiDomain"} <= set(merge["Outputs"])


def test_the_api_is_told_the_pool_by_reference(merge, stage):
    env = merge["Resources"][t.function_id(t.API_HANDLER)]["Properties"]["Environment"]["Variables"]
    assert env["AUTH_ISSUER"] == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"}
    assert env["AUTH_JWKS_URL"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}/.well-known/jwks.json"}
    assert env["AUTH_CLIENT_ID"] == {"Ref": t.USER_POOL_CLIENT_ID}
    assert env["AUTH_HOSTED_UI_DOMAIN"] == {"Fn::Sub": "${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"}
    assert env["COGNITO_ENDPOINT"] == "https://cognito-idp.ap-east-1.amazonaws.com/"
    text = json.dumps(merge)
    assert r.user_pool_placeholder(stage) not in text and r.client_id_placeholder(stage) + '"' not in text.replace(
        '"ClientName": "' + r.client_id_placeholder(stage) + '"', "")
    assert ("DEV_TOKEN_ISSUER" in env) == (stage == "dev")  # staging and prod know no dev issuer
    assert "AUTH_JWKS_SECRET" not in env


def test_the_local_pool_has_the_templates_shape(stack):
    idp = stack.client("cognito-idp")
    pool_id, client_id = stack.arns["user_pool"], stack.arns["user_pool_client"]
    client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    template = t.build("dev")["Resources"][t.USER_POOL_CLIENT_ID]["Properties"]
    for key in ("ExplicitAuthFlows", "AllowedOAuthFlows", "AllowedOAuthScopes", "SupportedIdentityProviders",
                "PreventUserExistenceErrors"):
        assert sorted(client[key]) == sorted(template[key]) if isinstance(template[key], list) else \
            client[key] == template[key], key
    assert "ClientSecret" not in client
    assert client["CallbackURLs"] == [stack.public_base_url + "/signin"]
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"]}
    assert groups == set(r.USER_POOL_GROUPS)
    attributes = {a["Name"]: a for a in idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["SchemaAttributes"]}
    assert attributes["custom:employee_id"]["Mutable"] is False
    env = stack.env
    assert env["AUTH_CLIENT_ID"] == client_id and env["AUTH_ISSUER"].endswith("/" + pool_id)
    assert env["AUTH_HOSTED_UI_DOMAIN"] == ""  # moto has no Hosted UI: the page signs in with InitiateAuth
