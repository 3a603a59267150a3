"""deploy/ and terraform/, checked offline (no container engine, no cloud provider here):

- the Dockerfile passes hadolint, every file it copies exists, and what it runs works: its layout is
  rebuilt in a folder, the project's wheel is built from it without the network, and its commands run;
- the compose file validates against the Compose specification's schema;
- where the terraform binary and the AWS provider are on the machine (this kind has them in
  /usr/local/bin and /opt/tf-plugins; neither Debian nor PyPI carries them), ``terraform fmt -check``,
  ``terraform validate`` and the module's own ``terraform test`` (AWS provider mocked) run.

The Kubernetes manifests and the Terraform module read as files (schemas, wiring, secrets) are
tests/unit/test_deploy_files.py's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.paths import ROOT

BIN = Path(sys.executable).parent
TERRAFORM = shutil.which("terraform")
# Providers cannot be downloaded here: `terraform init -plugin-dir` takes them from this mirror.
TF_PLUGINS = Path(os.environ.get("AGENTLOAD_TF_PLUGIN_DIR", "/opt/tf-plugins"))
HAS_AWS_PROVIDER = (TF_PLUGINS / "registry.terraform.io" / "hashicorp" / "aws").is_dir()


def _dockerfile() -> list[tuple[str, str]]:
    lines, buf = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        buf += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            op, _, rest = buf.strip().partition(" ")
            lines.append((op.upper(), rest))
            buf = ""
    return lines


def test_dockerfile_lints_clean() -> None:
    proc = subprocess.run([str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_layout_builds_and_its_commands_run(tmp_path: Path) -> None:
    """COPY into a fresh /app, build the wheel from it offline (what `pip install -e .` builds), then run
    the image's commands from that folder."""
    app = tmp_path / "app"
    app.mkdir()
    for op, rest in _dockerfile():
        if op != "COPY":
            continue
        *sources, dest = rest.split()
        for src in sources:
            path = ROOT / src
            assert path.exists(), f"Dockerfile copies {src}, which is not in the repository"
            target = app / dest if dest not in ("./", ".") else app / src
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(path, app / src if dest in ("./", ".") else target)
    wheel = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path / "wheels"), str(app)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert wheel.returncode == 0, wheel.stderr[-2000:]
    import zipfile

    names = zipfile.ZipFile(next((tmp_path / "wheels").glob("agentload-*.whl"))).namelist()
    for module in (
        "agentload/cli.py",
        "agentload/mock/faults.py",
        "agentload/client/wire/link.py",
        "agentload/runtime/locustfile.py",
        "agentload/workload/builtin/fix-failing-test.yaml",
    ):
        assert module in names, f"the image would lack {module}: add its package to pyproject.toml"
    env = {"PYTHONPATH": str(app), "PATH": f"{BIN}:/usr/bin:/bin"}
    cmd = [op_rest for op, op_rest in _dockerfile() if op == "CMD"][0]
    argv = yaml.safe_load(cmd)  # the exec form is a JSON list
    argv = [str(BIN / argv[0])] + [str(app) + a[4:] if a.startswith("/app/") else a for a in argv[1:]]
    run = subprocess.run(argv, cwd=app, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    # and the image's locustfile loads with its user classes (what master and workers run)
    listing = subprocess.run(
        [*argv[:3], "--list"], cwd=app, env=env, capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0 and "WsAgent" in listing.stdout, listing.stderr[-2000:]
    for line in yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]["mock"]["command"][
        :1
    ]:
        assert line == "agentload"
    mock = subprocess.run(
        [sys.executable, "-m", "agentload", "mock", "--help"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
    )
    assert mock.returncode == 0 and "--faults" in mock.stdout
    assert not any(n.startswith(("users/", "tasks/")) for n in names)  # no generic top-level packages
    assert (app / "agentload" / "workload" / "builtin" / "fix-failing-test.yaml").exists()


def test_compose_file_validates_against_the_compose_spec() -> None:
    compose = ROOT / "deploy" / "compose.yaml"
    proc = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    services = yaml.safe_load(compose.read_text())["services"]
    assert set(services) >= {"mock", "influxdb", "grafana", "master", "worker"}
    assert services["influxdb"]["image"].startswith("influxdb:2")
    assert any("grafana/provisioning" in v for v in services["grafana"]["volumes"])
    assert services["worker"]["deploy"]["replicas"] >= 1
    for name, svc in services.items():  # published ports bind loopback only
        for p in svc.get("ports", []):
            assert p.startswith("127.0.0.1:"), (name, p)
    for vol in services["grafana"]["volumes"]:
        assert (compose.parent / vol.split(":")[0]).exists(), vol


def _terraform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    assert TERRAFORM
    return subprocess.run(
        [TERRAFORM, *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.skipif(
    TERRAFORM is None, reason="no terraform binary on this machine (neither Debian nor PyPI has it)"
)
def test_terraform_fmt_check() -> None:
    done = _terraform(ROOT / "terraform", "fmt", "-check", "-recursive", "-diff")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(
    TERRAFORM is None or not HAS_AWS_PROVIDER,
    reason=f"needs terraform and the AWS provider under {TF_PLUGINS} (AGENTLOAD_TF_PLUGIN_DIR)",
)
def test_terraform_validate_and_module_tests(tmp_path: Path) -> None:
    """validate, then the module's ``terraform test``: a mocked apply whose assertions check the rules
    (5557 from the workers' group only, 8089 from allowed_cidr only), the workers joining the master's
    private address, the key read from SSM, and that allowed_cidr=0.0.0.0/0 is refused."""
    module = tmp_path / "aws"
    shutil.copytree(ROOT / "terraform" / "aws", module, ignore=shutil.ignore_patterns(".terraform*"))
    init = _terraform(module, "init", "-backend=false", "-input=false", f"-plugin-dir={TF_PLUGINS}")
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _terraform(module, "validate")
    assert validate.returncode == 0 and "The configuration is valid" in validate.stdout, (
        validate.stdout + validate.stderr
    )
    test = _terraform(module, "test")
    assert test.returncode == 0, test.stdout + test.stderr
    runs = re.findall(r'run "(\w+)"\.\.\. (\w+)', test.stdout)
    assert runs == [
        ("fleet", "pass"),
        ("no_key_no_ssm_policy", "pass"),
        ("web_ui_never_open_to_the_internet", "pass"),
    ]
