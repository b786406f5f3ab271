"""Fixtures of the browser test: a JupyterLab server, Debian's Chromium driven by Playwright.

``lab`` starts ``jupyter lab`` from this environment on a localhost port it picks itself (port 0,
read back from its server-info file: no port chosen here and bound later) with a token and
its own temporary config, data, runtime, settings and workspace folders (so no user setting
interferes), serves the repository, and shuts it down at the end, checking that no process is
left behind. ``page`` is a fresh browser tab; when a test fails it saves a screenshot, the
page's console log and the server's log under ``test-artifacts/e2e/``. ``offline_page`` is a tab
without the server that may reach this machine only (the course book's test).

Without Chromium (``/usr/bin/chromium``, or ``MEDLAB_CHROMIUM``) or Playwright the tests skip
and say how to enable them; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("MEDLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-quic", "--disable-sync", "--disable-dev-shm-usage",
]
HOW_TO_ENABLE = (
    "to run it: make e2e-deps as root (or sudo apt-get install chromium), "
    "then make test; set MEDLAB_CHROMIUM for a Chromium elsewhere"
)
#: Bounds of the waits for the server and its processes: far above what a loaded machine needs
#: (the suite shares 2 cores with other work), only reached when something is wrong.
SERVER_START_S = 300
STOP_S = 60
#: Starts of the server given up on because the port it picked was taken meanwhile.
PORT_ATTEMPTS = 3

# JupyterLab user settings for the test: never save the lesson (its stored outputs are what
# nbval compares), render every cell (no windowing). No news pop-up and no news or update checks
# come from the course's own settings, as with make lab (LAB_CONFIG_PATH, and the --LabApp options).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
LAB_CONFIG_PATH = ROOT / "jupyter_config"  # the Makefile's LAB_CONFIG_PATH


def in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason):
    message = f"browser test not run: {reason}; {HOW_TO_ENABLE}"
    if in_ci():
        pytest.fail(f"CI is set, so the browser test must run, but {reason}. "
                    "`make test` installs Chromium with `make e2e-deps` when run as root.", pytrace=False)
    pytest.skip(message)


# ------------------------------------------------------------- failure capture
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict]()


def _failed(item):
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


def artifact_name(item):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in item.name)


# ------------------------------------------------------------------- the server
@dataclass
class Lab:
    """A running JupyterLab: its address, token and process."""

    url: str
    token: str
    process: subprocess.Popen
    log_path: Path
    home: Path
    children: set = field(default_factory=set)

    def api(self, path, method="GET", timeout=60):
        """Call the REST API; return the decoded JSON (None for an empty answer)."""
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, path):
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"  # reset: no tabs restored

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def remember_children(self):
        """Note every process the server has started so far (kernels, language servers)."""
        import psutil

        try:
            self.children.update(psutil.Process(self.process.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass


def _write_settings(folder):
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _start_lab(home):
    for name in ("config", "data", "runtime", "settings", "workspaces", "ipython", "checkpoints"):
        (home / name).mkdir()
    _write_settings(home / "settings")
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the kernel must use the inline backend, as a student's does
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_CONFIG_PATH=str(LAB_CONFIG_PATH),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PREFER_ENV_PATH="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    token = secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--port=0", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False",
        # the checkpoint JupyterLab makes of each notebook it opens goes to the temporary folder,
        # not to notebooks/.ipynb_checkpoints
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "server.log"
    for _ in range(PORT_ATTEMPTS):
        lab = _launch(command, env, token, log_path, home)
        if lab is not None:
            return lab
    raise RuntimeError(f"jupyter lab found its port taken {PORT_ATTEMPTS} times:\n"
                       f"{log_path.read_text(errors='replace')[-3000:]}")


def _launch(command, env, token, log_path, home):
    """Start the server and wait until it answers: the Lab, or None when the port it picked
    was taken before it listened (the caller starts it again)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    info_file = home / "runtime" / f"jpserver-{process.pid}.json"
    lab = Lab("http://127.0.0.1:0", token, process, log_path, home)  # no port known yet
    port = None
    deadline = time.monotonic() + SERVER_START_S
    while True:
        if process.poll() is not None:
            if "is already in use" in lab.log():
                return None
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{lab.log()[-3000:]}")
        if port is None and info_file.is_file():
            try:
                port = int(json.loads(info_file.read_text())["port"])
                lab.url = f"http://127.0.0.1:{port}"
            except (ValueError, KeyError, OSError):  # still being written
                port = None
        if port is not None:
            try:
                lab.api("/api/status", timeout=10)
                return lab
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
        if time.monotonic() > deadline:
            _stop_lab(lab)
            raise RuntimeError(f"jupyter lab did not answer in {SERVER_START_S} s:\n{lab.log()[-3000:]}")
        time.sleep(0.25)


def _stop_lab(lab):
    """Shut kernels down, stop the server, then kill whatever it left; return the leftovers."""
    import psutil

    lab.remember_children()
    try:
        for kernel in lab.api("/api/kernels") or []:
            lab.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)
        lab.api("/api/shutdown", method="POST")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        pass
    try:
        lab.process.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        os.killpg(lab.process.pid, signal.SIGTERM)
        try:
            lab.process.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(lab.process.pid, signal.SIGKILL)
            lab.process.wait(timeout=STOP_S)
    _, alive = psutil.wait_procs([p for p in lab.children if p.is_running()], timeout=STOP_S)
    for process in alive:  # kill them so that nothing outlives the test, then report them
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.fixture(scope="session")
def chromium_path():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    return CHROMIUM


# lab and browser live for the e2e module only: stopped before the rest of the suite runs,
# their kernels and Chromium's renderers do not compete with it (or hold ports) meanwhile.
@pytest.fixture(scope="module")
def lab():
    """A JupyterLab server on the repository; stopped, with every process checked gone, at the end."""
    checkpoints = ROOT / "notebooks" / ".ipynb_checkpoints"
    existing = set(checkpoints.glob("*"))
    home = Path(tempfile.mkdtemp(prefix="medlab-e2e-"))
    server = _start_lab(home)
    try:
        yield server
    finally:
        left = _stop_lab(server)
        log = server.log()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "jupyter-server.log").write_text(log)
        shutil.rmtree(home, ignore_errors=True)
        assert server.process.returncode is not None, "jupyter lab is still running"
        assert not left, f"processes left behind by jupyter lab (now killed): {[p.pid for p in left]}"
        assert set(checkpoints.glob("*")) <= existing, "the test left checkpoints in notebooks/"


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Chromium, headless, with a fresh profile; closed, with every process checked gone, at the end."""
    import psutil
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="medlab-e2e-chromium-"))
    before = set(psutil.Process().children(recursive=True))
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000}, service_workers="block",
        )
        started = set(psutil.Process().children(recursive=True)) - before
        try:
            yield context
        finally:
            context.close()
    _, alive = psutil.wait_procs([p for p in started if p.is_running()], timeout=STOP_S)
    for process in alive:
        process.kill()
    shutil.rmtree(profile, ignore_errors=True)
    assert not alive, f"browser processes left behind (now killed): {[p.pid for p in alive]}"


def _new_tab(browser):
    """A new tab that records its console and page errors in ``tab.console_lines``."""
    tab = browser.new_page()
    tab.set_default_timeout(120_000)  # far above what a click or a page load needs under load
    console = []
    tab.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    tab.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    tab.console_lines = console
    return tab


def _keep_failure(item, tab, logs):
    """A failed test's screenshot, console log and ``logs`` ({suffix: text}) in test-artifacts/e2e/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = artifact_name(item)
    try:
        tab.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True, timeout=15_000)
    except Exception as error:  # noqa: BLE001  (a screenshot must not hide the failure)
        tab.console_lines.append(f"[test] screenshot failed: {error}")
    (ARTIFACTS / f"FAILED-{name}-console.log").write_text("\n".join(tab.console_lines) + "\n")
    for suffix, text in logs.items():
        (ARTIFACTS / f"FAILED-{name}-{suffix}.log").write_text(text)


@pytest.fixture
def page(request, browser, lab):
    """A new tab that records its console; on failure, a screenshot and logs go to test-artifacts/e2e/."""
    tab = _new_tab(browser)
    yield tab
    if _failed(request.node):
        _keep_failure(request.node, tab, {"server": lab.log()})
    lab.remember_children()
    tab.close()


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@pytest.fixture
def offline_page(request, browser):
    """A new tab that reaches only this machine: requests to any host but 127.0.0.1,
    localhost or ::1 (and data:, blob:, file: URLs) are aborted and listed in
    ``tab.blocked_requests``. On failure, a screenshot and the console go to test-artifacts/e2e/."""
    from urllib.parse import urlsplit

    tab = _new_tab(browser)
    blocked = []

    def only_local(route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "file") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    tab.route("**/*", only_local)
    tab.blocked_requests = blocked
    yield tab
    if _failed(request.node):
        _keep_failure(request.node, tab, {"blocked-requests": "\n".join(blocked) + "\n"})
    tab.close()
