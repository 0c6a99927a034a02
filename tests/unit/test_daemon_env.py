"""The daemon never fills a client's ``Env: ["NAME"]`` from its own environment:
it keeps the bare name, as Docker does, and the engine passes it on as it is."""

from __future__ import annotations

from glassbox.daemon.translate import create_options


def test_env_names_without_value_do_not_reach_the_engine(monkeypatch):
    monkeypatch.setenv("GBX_DAEMON_SECRET", "s3cret")
    opts = create_options({"Image": "busybox", "Env": ["A=1", "GBX_DAEMON_SECRET", "B="]})
    assert opts.env == ["A=1", "GBX_DAEMON_SECRET", "B="]
    from glassbox.runtime.spec import merge_env
    assert merge_env([], opts.env) == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                       "/usr/bin:/sbin:/bin", "A=1", "GBX_DAEMON_SECRET", "B="]
