"""deploy/ and terraform/ read as files, in-process (no container engine, no cloud provider, no binary):

- the Kubernetes manifests validate against the Kubernetes 1.30 schemas (and the check can fail), and
  the API key reaches the workers from a Secret only;
- the Terraform module parses, and its variables, security-group rules, user data and outputs are wired
  as the README says.

What runs a program over them (hadolint, the image's layout and commands, check-jsonschema on the
compose file, terraform fmt, validate and test) is tests/e2e/test_deploy.py's.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import hcl2
import kubernetes_validate
import pytest
import yaml

from tests.paths import ROOT

K8S = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))


def _docs() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (f, d) for f in K8S for d in yaml.safe_load_all(f.read_text()) if d and d["kind"] != "Kustomization"
    ]


@pytest.mark.parametrize("path_doc", _docs(), ids=lambda pd: f"{pd[0].name}:{pd[1]['kind']}")
def test_kubernetes_manifests_validate(path_doc: tuple[Path, dict[str, Any]]) -> None:
    _, doc = path_doc
    kubernetes_validate.validate(doc, "1.30", strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    """The check above can fail: a field Kubernetes does not know is refused."""
    doc = copy.deepcopy(next(d for _, d in _docs() if d["kind"] == "Deployment"))
    doc["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_kubernetes_wiring_and_secrets() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in _docs()}
    kust = yaml.safe_load((ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text())
    assert {f.name for f in K8S} - {"kustomization.yaml"} == set(kust["resources"])
    master_svc = docs[("Service", "agentload-master")]
    assert {p["port"] for p in master_svc["spec"]["ports"]} == {8089, 5557}
    worker = docs[("Deployment", "agentload-worker")]["spec"]["template"]["spec"]["containers"][0]
    assert "agentload-master" in worker["args"]
    key = next(e for e in worker["env"] if e["name"] == "OPENAI_API_KEY")
    assert key["valueFrom"]["secretKeyRef"]["name"] == "agentload-secrets"
    assert worker["resources"]["requests"]["cpu"] == worker["resources"]["limits"]["cpu"]
    hpa = docs[("HorizontalPodAutoscaler", "agentload-worker")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "agentload-worker"
    config = docs[("ConfigMap", "agentload-options")]["data"]
    assert not [k for k in config if "KEY" in k or "TOKEN" in k or "PASSWORD" in k]
    assert all(k.startswith("LOCUST_") for k in config)  # what Locust and agentload read from the env
    for kind, _ in docs:
        assert kind != "Secret", "secrets are created with kubectl, never committed"


def _unquote(v: Any) -> Any:
    """python-hcl2 keeps HCL's quotes on strings and keys: drop them, recursively."""
    if isinstance(v, str):
        return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v
    if isinstance(v, list):
        return [_unquote(x) for x in v]
    if isinstance(v, dict):
        return {_unquote(k): _unquote(x) for k, x in v.items() if k not in ("__is_block__", "__comments__")}
    return v


def _tf(name: str) -> dict[str, Any]:
    with (ROOT / "terraform" / "aws" / name).open() as f:
        module: dict[str, Any] = _unquote(hcl2.load(f))
        return module


def _resources() -> dict[str, dict[str, Any]]:
    out = {}
    for block in _tf("main.tf")["resource"]:
        for rtype, named in block.items():
            for rname, body in named.items():
                out[f"{rtype}.{rname}"] = body
    return out


def test_terraform_variables_outputs_and_security_groups() -> None:
    variables = {k for block in _tf("variables.tf")["variable"] for k in block}
    assert variables >= {
        "region", "vpc_id", "subnet_ids", "worker_instance_type", "master_instance_type", "worker_count",
        "allowed_cidr", "repo_url",
    }  # fmt: skip
    outputs = {k: v for block in _tf("outputs.tf")["output"] for k, v in block.items()}
    assert ":8089" in outputs["web_ui_url"]["value"]
    r = _resources()
    rule_5557 = r["aws_vpc_security_group_ingress_rule.master_from_workers"]
    assert (rule_5557["from_port"], rule_5557["to_port"]) == (5557, 5557)
    assert rule_5557["referenced_security_group_id"] == "${aws_security_group.worker.id}"
    assert "cidr_ipv4" not in rule_5557  # from the workers' group only, never from an address range
    rule_ui = r["aws_vpc_security_group_ingress_rule.web_ui"]
    assert (rule_ui["from_port"], rule_ui["cidr_ipv4"]) == (8089, "${var.allowed_cidr}")
    ingress = [k for k in r if k.startswith("aws_vpc_security_group_ingress_rule.")]
    assert len(ingress) == 2  # nothing else is open
    asg = r["aws_autoscaling_group.workers"]
    assert asg["desired_capacity"] == "${var.worker_count}"
    assert asg["launch_template"][0]["id"] == "${aws_launch_template.worker.id}"


def test_terraform_user_data_installs_the_project_and_joins_the_master() -> None:
    r = _resources()
    worker_ud = r["aws_launch_template.worker"]["user_data"]
    assert "worker.sh.tftpl" in worker_ud and "aws_instance.master.private_ip" in worker_ud
    assert "master.sh.tftpl" in r["aws_instance.master"]["user_data"]
    worker = (ROOT / "terraform" / "aws" / "user_data" / "worker.sh.tftpl").read_text()
    master = (ROOT / "terraform" / "aws" / "user_data" / "master.sh.tftpl").read_text()
    assert "make venv" in worker and "--worker --master-host ${master_ip}" in worker
    assert "ssm get-parameter" in worker and "OPENAI_API_KEY" not in worker.split("printf")[0]
    assert "--master " in master and "make venv" in master
    for template, names in ((worker, {"repo_url", "repo_ref", "master_ip", "api_key_ssm_parameter", "region"}),
                            (master, {"repo_url", "repo_ref", "locust_args"})):  # fmt: skip
        used = set(re.findall(r"\$\{([a-z_]+)\}", template))
        assert used == names, used ^ names  # every template variable is passed, and nothing else
