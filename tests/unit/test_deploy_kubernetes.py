"""deploy/kubernetes: the student pod a Zero to JupyterHub install would make
from our Helm values, rendered offline by the real KubeSpawner and validated
against the Kubernetes schemas.

The chart's hub turns ``singleuser.*`` values into ``KubeSpawner`` traits (its
``jupyterhub_config.py``); :func:`spawner_traits` does the same for the keys our
values use, so the pod checked here is the pod a cluster would run.
"""

from __future__ import annotations

import asyncio
import os

import pytest

yaml = pytest.importorskip("yaml")
kubespawner = pytest.importorskip("kubespawner")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

HERE = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "kubernetes")


def load(*names: str) -> dict:
    """Helm's merge of several ``--values`` files (maps merge, the rest replace)."""
    def merge(a: dict, b: dict) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
                else v
        return out
    values: dict = {}
    for name in names:
        with open(os.path.join(HERE, name)) as f:
            values = merge(values, yaml.safe_load(f))
    return values


def spawner_traits(values: dict) -> dict:
    """The z2jh hub's mapping of the singleuser values we use onto KubeSpawner."""
    su = values["singleuser"]
    extra_pod = {k: v for k, v in (su.get("extraPodConfig") or {}).items() if v is not None}
    return {
        "image": f"{su['image']['name']}:{su['image']['tag']}",
        "image_pull_policy": su["image"]["pullPolicy"],
        "uid": su["uid"], "fs_gid": su["fsGid"],
        "allow_privilege_escalation": su["allowPrivilegeEscalation"],
        "default_url": su["defaultUrl"],
        "cpu_guarantee": su["cpu"]["guarantee"], "cpu_limit": su["cpu"]["limit"],
        "mem_guarantee": su["memory"]["guarantee"], "mem_limit": su["memory"]["limit"],
        "environment": su.get("extraEnv") or {},
        "extra_pod_config": extra_pod,
        "extra_container_config": su.get("extraContainerConfig") or {},
        "start_timeout": su["startTimeout"],
    }


@pytest.fixture(autouse=True)
def offline_kubeconfig(tmp_path, monkeypatch):
    """KubeSpawner loads a cluster config when it is made; give it one for a
    cluster that does not exist (nothing ever connects to 127.0.0.1:9)."""
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "offline",
        "clusters": [{"name": "offline", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "offline", "user": {"token": "none"}}],
        "contexts": [{"name": "offline", "context": {"cluster": "offline", "user": "offline"}}],
    }))
    from kubernetes_asyncio.config import kube_config
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(cfg))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def render_pod(values: dict) -> dict:
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    async def render():
        spawner = KubeSpawner(_mock=True, **spawner_traits(values))
        pod = await spawner.get_pod_manifest()
        async with ApiClient() as api:
            return api.sanitize_for_serialization(pod)
    return asyncio.run(render())


def validate(manifest: dict) -> None:
    version = kubernetes_validate.utils.latest_version()
    kubernetes_validate.validate(manifest, version, strict=True)


def test_the_student_pod_is_rootless_in_its_own_user_namespace():
    pod = render_pod(load("values.yaml"))
    validate(pod)
    spec = pod["spec"]
    assert spec["runtimeClassName"] == "sysbox-runc" and spec["hostUsers"] is False
    (c,) = spec["containers"]
    assert c["image"] == "registry.example.edu/glassbox-student:0.1.0"
    assert c["securityContext"]["runAsUser"] == 1000
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert not c["securityContext"].get("privileged")
    assert c["resources"]["limits"]["memory"] == 2 * 1024 ** 3   # "2G", as KubeSpawner reads it
    assert c["resources"]["requests"]["cpu"] == 0.25
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/lab/tree/notebooks/en/00-quickstart.ipynb"


def test_the_privileged_alternative_is_a_valid_pod_and_says_what_it_is():
    pod = render_pod(load("values.yaml", "values-privileged.yaml"))
    validate(pod)
    (c,) = pod["spec"]["containers"]
    assert c["securityContext"]["privileged"] is True
    assert c["securityContext"]["runAsUser"] == 0
    assert "runtimeClassName" not in pod["spec"] or pod["spec"]["runtimeClassName"] is None
    with open(os.path.join(HERE, "values-privileged.yaml")) as f:
        assert "throwaway nodes" in f.read()


def test_a_broken_pod_is_refused_by_the_schema():
    """The validation can fail: a field of the wrong type is caught."""
    pod = render_pod(load("values.yaml"))
    pod["spec"]["containers"][0]["resources"]["limits"]["memory"] = ["2G"]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(pod)
