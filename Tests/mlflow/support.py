"""Shared set-up of the MLflow interop suite: the server under test, tokens, unique names, file trees.

The suite drives the real MLflow Python client (mlflow-skinny 3.17.2) against a tracking server named by the
environment:

- ``MLFLOW_TRACKING_URI``: the server, ``http://127.0.0.1:PORT`` (required).
- ``MLFLOW_TRACKING_TOKEN``: a token of an administrator (Bearer authentication).
- ``MODELCTL_BIN``: the ``modelctl`` binary. When it is set the server is ``modelctl serve``; the tests that need
  modelctl's own conventions, tokens and roles, ``modelctl push`` and ``modelctl pull`` run only then. When it is
  not set the server is taken to be MLflow's own (``mlflow server --serve-artifacts``), which checks that the
  expectations below are MLflow's.
- ``MODELCTL_REGISTRY``: the registry URL for ``modelctl`` (defaults to ``MLFLOW_TRACKING_URI``).

Run with ``.venv/bin/python -m unittest discover -s Tests/mlflow -v``.
"""

import contextlib
import hashlib
import logging
import os
import random
import shutil
import subprocess
import tempfile
import unittest
import uuid
import warnings

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

TRACKING_URI = os.environ["MLFLOW_TRACKING_URI"]
ADMIN_TOKEN = os.environ.get("MLFLOW_TRACKING_TOKEN")
MODELCTL_BIN = os.environ.get("MODELCTL_BIN")
MODELCTL_REGISTRY = os.environ.get("MODELCTL_REGISTRY", TRACKING_URI)
IS_MODELCTL = bool(MODELCTL_BIN)

# Fail fast: on loopback a retry only hides a server error, and a 500 retried with back-off takes minutes.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

mlflow.set_tracking_uri(TRACKING_URI)
mlflow.set_registry_uri(TRACKING_URI)
logging.getLogger("mlflow").setLevel(logging.WARNING)


def quiet_warnings():
    """Silences MLflow's deprecation warnings (stages are deprecated but still its API, and the registry's).

    Called in every setUp: unittest's runner resets the warning filters before it runs the tests.
    """
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*type hint.*")
    warnings.filterwarnings("ignore", message=".*CloudPickle.*")


modelctl_only = unittest.skipUnless(IS_MODELCTL, "modelctl only (MODELCTL_BIN unset: MLflow's own server)")

RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
PERMISSION_DENIED = "PERMISSION_DENIED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"


def unique(prefix):
    """A model, experiment or principal name no other test uses: ``mlf-PREFIX-<8 hex>``."""
    return f"mlf-{prefix}-{uuid.uuid4().hex[:8]}"


class EchoModel(mlflow.pyfunc.PythonModel):
    """A python_model that returns its input."""

    def predict(self, context, model_input, params=None):
        return model_input


def write_tree(root, seed=1):
    """Writes a small model directory under ``root``: a 256 KiB binary file, a JSON file, and in ``sub/`` a text file,
    an empty file and one whose name has spaces, parentheses and non-ASCII letters (URL encoding).

    Returns ``root``. Different seeds give different bytes.
    """
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "sub"), exist_ok=True)
    with open(os.path.join(root, "weights.bin"), "wb") as f:
        f.write(rng.randbytes(262144))
    with open(os.path.join(root, "config.json"), "w") as f:
        f.write('{"seed": %d, "classes": ["cat", "dog"]}\n' % seed)
    with open(os.path.join(root, "sub", "labels.txt"), "w") as f:
        f.write("cat\ndog\n")
    open(os.path.join(root, "sub", "empty.bin"), "wb").close()
    with open(os.path.join(root, "sub", "Ünïcode name (1).txt"), "w", encoding="utf-8") as f:
        f.write("naïve café %d\n" % seed)
    return root


def tree_digests(root):
    """Every regular file under ``root``, by path relative to it (``/``-separated), with its SHA-256."""
    digests = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            digests[os.path.relpath(path, root).replace(os.sep, "/")] = digest
    return digests


class MLflowTestCase(unittest.TestCase):
    """A test with its own temporary directory, an MLflow client, and helpers for errors, tokens and modelctl."""

    def setUp(self):
        quiet_warnings()
        self.tmp = tempfile.mkdtemp(prefix="mlflow-interop-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.client = MlflowClient(tracking_uri=TRACKING_URI, registry_uri=TRACKING_URI)
        if mlflow.active_run() is not None:
            mlflow.end_run()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def download(self, uri):
        """``mlflow.artifacts.download_artifacts(uri)`` into a new directory; returns the local path."""
        return mlflow.artifacts.download_artifacts(uri, dst_path=self.path(uuid.uuid4().hex[:8]))

    # MARK: Assertions

    def assertMlflowError(self, code, function, *args, **kwargs):
        """Calls ``function`` and expects it to raise an MlflowException with ``error_code == code``."""
        try:
            result = function(*args, **kwargs)
        except MlflowException as error:
            self.assertEqual(
                error.error_code, code, f"{getattr(function, '__name__', function)}{args}: wrong error: {error}"
            )
            return error
        self.fail(f"{getattr(function, '__name__', function)}{args} {kwargs}: expected {code}, got {result!r}")

    def assertSameTree(self, actual, expected, extras=(), ignoring=()):
        """Expects directory ``actual`` to hold byte for byte the files of ``expected``, plus ``extras``, no more.

        Files named in ``ignoring`` are left out on both sides.
        """
        got = {k: v for k, v in tree_digests(actual).items() if k not in ignoring}
        want = {k: v for k, v in tree_digests(expected).items() if k not in ignoring}
        self.assertEqual(sorted(got), sorted(set(want) | set(extras)), f"files of {actual} vs {expected}")
        for name, digest in want.items():
            self.assertEqual(got[name], digest, f"'{name}' differs between {actual} and {expected}")

    # MARK: Tokens and principals

    @contextlib.contextmanager
    def as_token(self, token):
        """Makes the MLflow client send ``token`` (read from the environment at every request) inside the block."""
        previous = os.environ.get("MLFLOW_TRACKING_TOKEN")
        if token is None:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        else:
            os.environ["MLFLOW_TRACKING_TOKEN"] = token
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
            else:
                os.environ["MLFLOW_TRACKING_TOKEN"] = previous

    def modelctl(self, *arguments, check=True, timeout=120):
        """Runs ``modelctl ARGUMENTS`` as the administrator against the registry under test."""
        environment = dict(os.environ)
        environment["MODELCTL_REGISTRY"] = MODELCTL_REGISTRY
        if ADMIN_TOKEN:
            environment["MODELCTL_TOKEN"] = ADMIN_TOKEN
        result = subprocess.run(
            [MODELCTL_BIN, *arguments],
            cwd=self.tmp,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check:
            self.assertEqual(
                result.returncode,
                0,
                f"modelctl {' '.join(arguments)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}",
            )
        return result

    def principal(self, grants):
        """A new service principal holding ``grants`` (``[(role, pattern), …]``); returns its token."""
        return self.named_principal(grants)[1]

    def named_principal(self, grants):
        """A new service principal holding ``grants`` (``[(role, pattern), …]``); returns its name and token."""
        name = unique("p")
        token = self.modelctl("token", "create", name, "--kind", "service", "-q").stdout.strip()
        self.assertTrue(token, f"no token printed for {name}")
        for role, pattern in grants:
            self.modelctl("role", "grant", name, role, "--models", pattern, "-q")
        return name, token

    def device(self, models):
        """A new device principal that may read ``models``; returns its token."""
        name = unique("d")
        arguments = ["token", "create", name, "--kind", "device", "-q"]
        for model in models:
            arguments += ["--model", model]
        token = self.modelctl(*arguments).stdout.strip()
        self.assertTrue(token, f"no token printed for {name}")
        return token

    # MARK: Runs and versions

    def experiment(self, prefix="exp"):
        """A new experiment; returns its id."""
        return self.client.create_experiment(unique(prefix))

    def run_with_files(self, experiment_id=None, artifact_path="model", seed=1):
        """A finished run whose ``artifact_path`` holds ``write_tree(seed)``; returns ``(run, local tree)``."""
        tree = write_tree(self.path(f"tree-{seed}-{uuid.uuid4().hex[:6]}"), seed=seed)
        if experiment_id is None:
            experiment_id = self.experiment()
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_artifacts(tree, artifact_path)
        return self.client.get_run(run.info.run_id), tree

    def version_from_files(self, name, seed=1, **kwargs):
        """A new version of ``name`` (created first when missing) made with ``create_model_version`` from a run's
        files; returns ``(model version, local tree)``."""
        try:
            self.client.create_registered_model(name)
        except MlflowException as error:
            if error.error_code != RESOURCE_ALREADY_EXISTS:
                raise
        run, tree = self.run_with_files(seed=seed)
        version = self.client.create_model_version(
            name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id, **kwargs
        )
        return version, tree
