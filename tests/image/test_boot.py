"""Boot the MMBox OCI image under runc: first what is inside it, then the whole box.

The image comes from `./build.sh image`, built at most once per session and only when
build/image was not built from the current sources. umoci unpacks it into a bundle; each
container gets a read-only root, a tmpfs /tmp, a data folder bound at /data and the host's
network, so the box reaches a simulator on the host's loopback and the test reaches its panel.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.util
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from appliance.datadir import DataDir
from provisioning.vendor import DEV_VENDOR_DIR, PUBLIC_FILE
from tests.conftest import RunningSimulator, free_port

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(os.geteuid() != 0, reason="umoci unpack and runc need root"),
]

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "build" / "image"
TAG = "mmbox"
BUILD_TIMEOUT = 1800.0
SMOKE_TIMEOUT = 120.0
HEALTH_TIMEOUT = 90.0
POLL_EVERY = 0.5
STOP_GRACE = 45.0
"""Seconds the box may take to stop on SIGTERM: bots cancel their orders (20 s at most),
then children get SIGTERM (5 s at most), plus margin for a loaded machine."""
OUTPUT_TAIL = 8000
PYTHON_MODULE_SUFFIXES = (".py", ".pyc", ".so")

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
"""What Docker and Podman grant a container: the supervisor needs SETUID and SETGID to run
each child under its own uid, CHOWN and FOWNER to hand it its folders."""

SMOKE_SCRIPT = """
import os, subprocess
import appliance, hsm, ui, provisioning, ccxt, nicegui, pkcs11, pyudev, sqlite_utils
import ssl, sqlite3, zoneinfo
import ccxt.async_support, uvloop, cryptography.hazmat.primitives.asymmetric.ed25519

os.mkdir('/tmp/tokens')
with open(os.environ['SOFTHSM2_CONF'], 'w') as conf:
    conf.write('directories.tokendir = /tmp/tokens\\nobjectstore.backend = file\\n')
subprocess.run(['softhsm2-util', '--init-token', '--free', '--label', 'smoke',
                '--so-pin', '87654321', '--pin', '12345678'], check=True,
               stdout=subprocess.DEVNULL)
token = pkcs11.lib('/usr/lib/softhsm/libsofthsm2.so').get_token(token_label='smoke')
with token.open(user_pin='12345678') as session:
    print('random bytes', len(session.generate_random(256)))
print('udev context', type(pyudev.Context()).__name__)
print('trusted CAs', ssl.create_default_context().cert_store_stats()['x509_ca'] > 100)
print('bytecode', all(os.path.exists(m.__cached__) for m in (ccxt, nicegui, appliance, ssl)))
print('sqlite', sqlite3.connect(':memory:').execute('select 6 * 7').fetchone()[0])
print('zone', zoneinfo.ZoneInfo('Asia/Singapore').key)
print('pid', os.getpid())
import appliance.market.book, appliance.strategies.ladder
print('compiled', all(m.__file__.endswith('.so') for m in (appliance.market.book,
      appliance.strategies.ladder)))
"""


def _load_sources() -> Any:
    """Import image/sources.py, the source digest the build recorded its image with."""
    spec = importlib.util.spec_from_file_location("image_sources", REPO / "image" / "sources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_is_current() -> bool:
    """Tell whether build/image was built from the tree as it is now."""
    stamp = IMAGE / "sources.sha256"
    vendor_key = DEV_VENDOR_DIR / PUBLIC_FILE
    if not stamp.exists() or not vendor_key.exists():
        return False
    digest: str = _load_sources().source_digest(REPO, [vendor_key])
    return stamp.read_text().strip() == digest


def tail(text: str) -> str:
    """Return the end of a long output."""
    return text[-OUTPUT_TAIL:]


@pytest.fixture(scope="session")
def image_layout() -> Path:
    """Return the OCI layout, building the image first unless it is current."""
    if not image_is_current():
        env = {name: value for name, value in os.environ.items() if name != "MMBOX_VENDOR_PUB"}
        build = subprocess.run([str(REPO / "build.sh"), "image"], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        if build.returncode != 0:
            pytest.fail(f"./build.sh image failed:\n{tail(build.stdout + build.stderr)}")
    return IMAGE / "oci"


@pytest.fixture(scope="session")
def unpacked(image_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Unpack the image once per session: a bundle with rootfs/ and config.json."""
    bundle = tmp_path_factory.mktemp("image") / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{image_layout}:{TAG}", str(bundle)],
                   check=True, capture_output=True)
    yield bundle
    shutil.rmtree(bundle)


def box_config(image: dict[str, Any], rootfs: Path, data: Path,
               args: list[str] | None, env: dict[str, str]) -> dict[str, Any]:
    """Return the image's runtime config made into the box's: read-only, host network."""
    config = copy.deepcopy(image)
    process = config["process"]
    process["terminal"] = False
    process["args"] = args or process["args"]
    process["env"] = [*process["env"], *(f"{name}={value}" for name, value in env.items())]
    process["capabilities"] = {
        "bounding": DEFAULT_CAPABILITIES, "effective": DEFAULT_CAPABILITIES,
        "permitted": DEFAULT_CAPABILITIES, "inheritable": [], "ambient": [],
    }
    config["root"] = {"path": str(rootfs), "readonly": True}
    config["mounts"] = [
        *(m for m in config["mounts"] if m["destination"] not in ("/tmp", "/data")),
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", "size=256m"]},
        {"destination": "/data", "type": "bind", "source": str(data),
         "options": ["rbind", "rw"]},
    ]
    linux = config["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] != "network"]
    return config


@dataclass
class Container:
    """One runc container of the image, run in the foreground of a child process."""

    bundle: Path
    state: Path
    name: str = field(default_factory=lambda: f"mmbox-test-{uuid.uuid4().hex[:12]}")
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """Return the file that collects the container's stdout and stderr."""
        return self.bundle / "output.log"

    def runc(self, *args: str) -> list[str]:
        """Return a runc command line that uses this test's private state folder."""
        return ["runc", "--root", str(self.state), *args]

    def start(self) -> None:
        """Create and start the container; its output goes to the log."""
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.runc("run", "--bundle", str(self.bundle), self.name),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    def wait(self, timeout: float) -> int:
        """Wait for the container to exit and return its status."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def exited(self) -> bool:
        """Tell whether the container has exited."""
        return self.process is not None and self.process.poll() is not None

    def kill(self, signal_name: str) -> None:
        """Send a signal to the container's first process."""
        subprocess.run(self.runc("kill", self.name, signal_name), check=True,
                       capture_output=True)

    def output(self) -> str:
        """Return the end of what the container printed."""
        return tail(self.log.read_text(errors="replace")) if self.log.exists() else ""

    def remove(self) -> None:
        """Kill the container if it still runs and delete it."""
        subprocess.run(self.runc("kill", self.name, "KILL"), capture_output=True)
        subprocess.run(self.runc("delete", "--force", self.name), capture_output=True)
        if self.process is not None:
            self.process.wait(timeout=30)


class Boot(Protocol):
    """Start a container of the image with a data folder at /data."""

    def __call__(self, data: Path, args: list[str] | None = None,
                 env: dict[str, str] | None = None) -> Container: ...


@pytest.fixture
def boot(unpacked: Path, tmp_path: Path) -> Iterator[Boot]:
    """Yield a starter of containers; every one is killed and deleted at the end."""
    started: list[Container] = []
    image_config = json.loads((unpacked / "config.json").read_text())

    def start(data: Path, args: list[str] | None = None,
              env: dict[str, str] | None = None) -> Container:
        bundle = tmp_path / f"bundle-{len(started)}"
        bundle.mkdir()
        config = box_config(image_config, unpacked / "rootfs", data, args, env or {})
        (bundle / "config.json").write_text(json.dumps(config, indent=1))
        container = Container(bundle, tmp_path / "runc")
        started.append(container)
        container.start()
        return container

    yield start
    for container in started:
        container.remove()


def test_image_holds_the_box_and_its_native_libraries(boot: Boot, tmp_path: Path) -> None:
    """Import every package, set up a SoftHSM2 token and sign in to it inside the image."""
    data = tmp_path / "data"
    data.mkdir()
    container = boot(data, ["/usr/bin/python3.11", "-c", SMOKE_SCRIPT],
                     {"SOFTHSM2_CONF": "/tmp/softhsm2.conf"})
    status = container.wait(SMOKE_TIMEOUT)
    output = container.output()
    assert status == 0, output
    assert output.splitlines() == [
        "random bytes 32",
        "udev context Context",
        "trusted CAs True",
        "bytecode True",
        "sqlite 42",
        "zone Asia/Singapore",
        "pid 1",
        "compiled True",
    ]


def simulator_paths(rootfs: Path) -> list[str]:
    """Return the root's Python modules below a folder named simulator, and any simulator*.so."""
    found: list[str] = []
    for folder, _, files in os.walk(rootfs):
        relative = Path(folder).relative_to(rootfs)
        in_package = "simulator" in relative.parts
        found.extend(str(relative / name) for name in files
                     if (in_package and name.endswith(PYTHON_MODULE_SUFFIXES))
                     or fnmatch.fnmatch(name, "simulator*.so"))
    return sorted(found)


def test_image_ships_no_simulator(unpacked: Path) -> None:
    """The development simulator is a tool beside the product: the image holds none of it."""
    assert simulator_paths(unpacked / "rootfs") == []


def health(port: int, cafile: Path) -> dict[str, Any] | None:
    """Return the panel's health document over HTTPS, or None while it does not answer 200."""
    context = ssl.create_default_context(cafile=cafile)
    try:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/api/health", timeout=5,
                                    context=context) as reply:
            document: dict[str, Any] = json.loads(reply.read())
            return document
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for_health(container: Container, port: int, cafile: Path) -> dict[str, Any]:
    """Poll the panel until it is healthy; fail with the box's output if it never is."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline and not container.exited():
        document = health(port, cafile)
        if document is not None:
            return document
        time.sleep(POLL_EVERY)
    state = "exited" if container.exited() else f"no health within {HEALTH_TIMEOUT:.0f} s"
    pytest.fail(f"the box {state}; its output:\n{container.output()}")


def test_box_boots_answers_health_and_stops_on_sigterm(
    boot: Boot, simulator: RunningSimulator, tmp_path: Path
) -> None:
    """Provision a box on the host's simulator, boot the image, then stop it with SIGTERM."""
    data = tmp_path / "data"
    panel_port = free_port()
    provision = subprocess.run(
        [sys.executable, "-m", "provisioning.devbox", "provision", "--data", str(data),
         "--exchange-url", simulator.url, "--panel-port", str(panel_port)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert provision.returncode == 0, provision.stdout + provision.stderr

    container = boot(data)
    cafile = DataDir(data).panel_cert
    assert isinstance(wait_for_health(container, panel_port, cafile), dict)

    container.kill("TERM")
    try:
        status = container.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the box ignored SIGTERM for {STOP_GRACE:.0f} s:\n{container.output()}")
    assert status == 0, container.output()
