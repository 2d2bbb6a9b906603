"""The artifact store behind ``mlflow-artifacts:/``: large files, paths that try to leave it, and the read-only view
of registered versions (``mlflow-artifacts:/registry/NAME/VERSION``)."""

import hashlib
import json
import os
import unittest

import mlflow
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request
from support import INVALID_PARAMETER_VALUE, TRACKING_URI, MLflowTestCase, modelctl_only, unique


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactTests(MLflowTestCase):
    def request(self, method, path, **kwargs):
        """A raw request to ``/api/2.0/mlflow-artifacts/artifacts/PATH`` (PATH sent as given, already encoded), or to
        the listing ``/api/2.0/mlflow-artifacts/artifacts`` when PATH is None."""
        return http_request(
            get_default_host_creds(TRACKING_URI),
            "/api/2.0/mlflow-artifacts/artifacts" + ("" if path is None else f"/{path}"),
            method,
            max_retries=0,
            **kwargs,
        )

    def test_large_file(self):
        # 24 MiB: more than any JSON body limit, so the upload and the download must stream
        large = self.path("large.bin")
        with open(large, "wb") as f:
            for _ in range(24):
                f.write(os.urandom(1 << 20))
        with mlflow.start_run(experiment_id=self.experiment()) as run:
            mlflow.log_artifact(large, "big")
        listed = self.client.list_artifacts(run.info.run_id, "big")
        self.assertEqual([(f.path, f.file_size) for f in listed], [("big/large.bin", 24 << 20)])
        downloaded = mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="big/large.bin", dst_path=self.path("dl")
        )
        self.assertEqual(sha256(downloaded), sha256(large))
        # And registered, the version holds the same bytes
        name = unique("large")
        self.client.create_registered_model(name)
        self.client.create_model_version(name, f"runs:/{run.info.run_id}/big", run_id=run.info.run_id)
        self.assertEqual(sha256(os.path.join(self.download(f"models:/{name}/1"), "large.bin")), sha256(large))

    def test_paths_that_leave_the_store_are_refused(self):
        run, _ = self.run_with_files()
        base = run.info.artifact_uri[len("mlflow-artifacts:/") :]
        for path in [
            f"{base}/%2E%2E/%2E%2E/%2E%2E/escape.txt",
            f"{base}/..%2F..%2F..%2Fescape.txt",
            "%2E%2E/escape.txt",
            f"{base}/model/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/escape.txt",
        ]:
            with self.subTest(path=path):
                put = self.request("PUT", path, data=b"escaped")
                self.assertEqual(put.status_code, 400, put.text)
                self.assertEqual(json.loads(put.text).get("error_code"), INVALID_PARAMETER_VALUE, put.text)
                get = self.request("GET", path)
                self.assertEqual(get.status_code, 400, get.text)
        listing = self.request("GET", None, params={"path": f"{base}/../../.."})
        self.assertEqual(listing.status_code, 400, listing.text)
        self.assertEqual(json.loads(listing.text).get("error_code"), INVALID_PARAMETER_VALUE, listing.text)

    @modelctl_only
    def test_registry_view_is_read_only(self):
        name = unique("view")
        version, tree = self.version_from_files(name)
        uri = self.client.get_model_version_download_uri(name, version.version)
        self.assertEqual(uri, f"mlflow-artifacts:/registry/{name}/1")
        # Listing the view shows the version's files
        repository = get_artifact_repository(uri)
        self.assertEqual(
            sorted((f.path, f.is_dir) for f in repository.list_artifacts()),
            [("config.json", False), ("sub", True), ("weights.bin", False)],
        )
        # Writing or deleting through it is refused, and the version keeps its files
        intruder = self.path("intruder.txt")
        with open(intruder, "w") as f:
            f.write("should not be here\n")
        with self.assertRaises(Exception):
            repository.log_artifact(intruder)
        with self.assertRaises(Exception):
            repository.log_artifact(intruder, "sub")
        with self.assertRaises(Exception):
            repository.delete_artifacts("weights.bin")
        put = self.request("PUT", f"registry/{name}/1/config.json", data=b"{}")
        self.assertIn(put.status_code, (400, 403, 404, 405), put.text)
        self.assertSameTree(self.download(f"models:/{name}/1"), tree)
        # A version or model that does not exist is not found
        for path in [f"registry/{name}/99/config.json", f"registry/{unique('missing')}/1/config.json"]:
            with self.subTest(path=path):
                self.assertEqual(self.request("GET", path).status_code, 404)


if __name__ == "__main__":
    unittest.main()
