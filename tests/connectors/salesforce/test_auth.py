"""Each authentication flow gets a working token from the org; failures name no secret."""

from __future__ import annotations

import pytest

from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.errors import AuthenticationFailed, SecretUnavailable
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import SECRET_VAR, a_tenant, sfsim_environ

FLOWS = ["client_credentials", "jwt_bearer", "refresh_token", "username_password"]


@pytest.mark.parametrize("flow", FLOWS)
def test_given_a_flow_when_authenticating_then_the_token_opens_the_rest_api(
    sfsim: ThreadedSfsim,
    flow: str,
) -> None:
    config = a_tenant(sfsim, flow=flow)
    session = http_session(sfsim.credentials.ca)

    token = authenticator_for(config.salesforce, sfsim_environ(sfsim), session).authenticate()

    response = session.get(
        f"{token.instance_url}/services/data/v61.0/limits",
        headers={"Authorization": f"Bearer {token.access_token.get_secret_value()}"},
    )
    assert response.status_code == 200
    assert token.instance_url == sfsim.url


def test_given_a_wrong_secret_then_the_error_has_the_code_and_not_the_secret(
    sfsim: ThreadedSfsim,
) -> None:
    config = a_tenant(sfsim)
    environ = sfsim_environ(sfsim) | {SECRET_VAR: "definitely-wrong-secret"}

    with pytest.raises(AuthenticationFailed) as raised:
        authenticator_for(
            config.salesforce, environ, http_session(sfsim.credentials.ca)
        ).authenticate()

    assert str(raised.value).startswith("invalid_client")
    assert "definitely-wrong-secret" not in str(raised.value)


def test_given_an_unset_variable_then_resolution_names_the_variable(sfsim: ThreadedSfsim) -> None:
    config = a_tenant(sfsim)

    with pytest.raises(SecretUnavailable, match=f"environment variable {SECRET_VAR} is not set"):
        authenticator_for(config.salesforce, {}, http_session(sfsim.credentials.ca))


def test_given_the_environment_points_requests_elsewhere_then_the_pinned_ca_still_wins(
    sfsim: ThreadedSfsim,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = http_session(sfsim.credentials.ca)

    assert session.get(f"{sfsim.url}/services/data/", timeout=10).status_code == 200
