import pytest

from notifications import outbound


@pytest.fixture
def dns(monkeypatch):
    """A stub resolver (host name -> addresses; unknown names do not resolve), with a public address for
    Slack's and a webhook receiver's host: no test resolves a real name."""
    table = {"hooks.slack.com": ["34.226.36.52"], "hooks.example": ["93.184.215.14"]}

    def resolve(host, port):
        if host in ("127.0.0.1", "::1"):
            return [host]
        if host not in table:
            raise OSError("name does not resolve")
        return table[host]

    monkeypatch.setattr(outbound, "resolve", resolve)
    return table
