"""Browser hardening of the pages: a Content-Security-Policy without inline scripts, Referrer-Policy,
Cross-Origin-Opener-Policy and frames denied (the browser test checks the pages still work under it)."""

import pytest


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs", "/health"])
def test_pages_carry_the_hardening_headers(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_swagger_ui_loads_its_initialiser_as_a_script_file(client):
    page = client.get("/api/docs").content.decode()
    assert "<script>" not in page  # inline scripts would be refused by the policy
    script = client.get("/api/docs?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()
