"""Authentication and roles as the MLflow client meets them (modelctl only), and endpoints the registry lacks.

Roles are granted per model name pattern: reader < writer < promoter < admin. Tracking needs writer on some model;
registry reads need reader, create/update/tags writer, stages and aliases promoter, deletes and renames admin.
"""

import json
import os
import unittest
import uuid

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request
from support import (
    ENDPOINT_NOT_FOUND,
    EchoModel,
    PERMISSION_DENIED,
    TRACKING_URI,
    MLflowTestCase,
    modelctl_only,
    unique,
)


@modelctl_only
class RoleTests(MLflowTestCase):
    def setUp(self):
        super().setUp()
        # Models PREFIX-a (version 1 with alias champion) and PREFIX-b, made by the administrator
        self.prefix = f"mlf-perm-{uuid.uuid4().hex[:8]}"
        self.a, self.b = f"{self.prefix}-a", f"{self.prefix}-b"
        self.version, self.tree = self.version_from_files(self.a)
        self.client.set_registered_model_alias(self.a, "champion", "1")
        self.client.set_registered_model_tag(self.a, "owner", "admin")
        self.client.create_registered_model(self.b)
        self.run, _ = self.run_with_files()
        self.source = f"{self.run.info.artifact_uri}/model"

    def assertDenied(self, function, *args, **kwargs):
        return self.assertMlflowError(PERMISSION_DENIED, function, *args, **kwargs)

    def assertUnchanged(self):
        model = self.client.get_registered_model(self.a)
        self.assertEqual(model.tags, {"owner": "admin"})
        self.assertEqual(model.aliases, {"champion": "1"})
        self.assertEqual([v.version for v in self.client.search_model_versions(f"name = '{self.a}'")], ["1"])
        self.assertEqual(self.client.get_model_version(self.a, "1").current_stage, "None")

    def test_reader_reads_and_may_not_write(self):
        token = self.principal([("reader", f"{self.prefix}-*")])
        with self.as_token(token):
            # Reads work
            self.assertEqual(self.client.get_registered_model(self.a).name, self.a)
            self.assertEqual(self.client.get_model_version(self.a, "1").status, "READY")
            self.assertEqual(self.client.get_model_version_by_alias(self.a, "champion").version, "1")
            self.assertEqual(
                sorted(m.name for m in self.client.search_registered_models(f"name LIKE '{self.prefix}-%'")),
                [self.a, self.b],
            )
            self.assertSameTree(self.download(f"models:/{self.a}@champion"), self.tree)
            self.assertEqual(
                self.client.get_model_version_download_uri(self.a, "1"), f"mlflow-artifacts:/registry/{self.a}/1"
            )
            # Writes are refused
            self.assertDenied(self.client.create_registered_model, f"{self.prefix}-new")
            self.assertDenied(self.client.create_model_version, self.a, self.source, run_id=self.run.info.run_id)
            self.assertDenied(self.client.update_registered_model, self.a, "mine now")
            self.assertDenied(self.client.set_registered_model_tag, self.a, "owner", "reader")
            self.assertDenied(self.client.delete_registered_model_tag, self.a, "owner")
            self.assertDenied(self.client.set_model_version_tag, self.a, "1", "k", "v")
            self.assertDenied(self.client.update_model_version, self.a, "1", "mine")
            self.assertDenied(self.client.set_registered_model_alias, self.a, "champion", "1")
            self.assertDenied(self.client.delete_registered_model_alias, self.a, "champion")
            self.assertDenied(self.client.transition_model_version_stage, self.a, "1", "Production")
            self.assertDenied(self.client.delete_model_version, self.a, "1")
            self.assertDenied(self.client.rename_registered_model, self.a, f"{self.prefix}-renamed")
            self.assertDenied(self.client.delete_registered_model, self.a)
            # Tracking, run artifacts included, needs writer on some model
            self.assertDenied(self.client.create_experiment, unique("exp"))
            self.assertDenied(self.client.create_run, "0")
            self.assertDenied(self.client.get_run, self.run.info.run_id)
            self.assertDenied(self.client.log_param, self.run.info.run_id, "x", "1")
            with self.assertRaises(Exception):
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{self.run.info.artifact_uri}/model", dst_path=self.path("run-files")
                )
            self.assertFalse(os.path.exists(os.path.join(self.path("run-files"), "model", "weights.bin")))
        self.assertUnchanged()

    def test_rights_are_decided_by_name(self):
        self.version_from_files(self.b, seed=2)
        token = self.principal([("writer", f"{self.prefix}-a")])
        other = unique("other")
        with self.as_token(token):
            # A model outside the pattern: refused, whether it exists or not
            self.assertDenied(self.client.get_registered_model, self.b)
            self.assertDenied(self.client.get_registered_model, other)
            self.assertDenied(self.client.create_registered_model, other)
            self.assertDenied(self.client.get_model_version, self.b, "1")
            self.assertDenied(self.client.get_model_version_download_uri, self.b, "1")
            self.assertDenied(mlflow.artifacts.download_artifacts, f"models:/{self.b}/1", dst_path=self.path("b"))
            # Its files, named directly, are refused too
            with self.assertRaises(Exception):
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"mlflow-artifacts:/registry/{self.b}/1", dst_path=self.path("b-direct")
                )
            self.assertFalse(os.path.exists(os.path.join(self.path("b-direct"), "weights.bin")))
            # While its own model reads as usual
            self.assertSameTree(self.download(f"models:/{self.a}/1"), self.tree)

    def test_copying_needs_read_on_the_source(self):
        # models:/NAME/VERSION sources copy a version: the caller must be able to read it
        self.version_from_files(self.b, seed=2)
        token = self.principal([("writer", f"{self.prefix}-a")])
        with self.as_token(token):
            self.assertDenied(self.client.create_model_version, self.a, f"models:/{self.b}/1")
            # (copy_model_version reads the source version first, and wraps the refusal in its own error)
            with self.assertRaisesRegex(MlflowException, PERMISSION_DENIED):
                self.client.copy_model_version(f"models:/{self.b}/1", self.a)
            copied = self.client.create_model_version(self.a, f"models:/{self.a}/1")
            self.assertEqual(copied.version, "2")
        self.assertEqual(sorted(v.version for v in self.client.search_model_versions(f"name = '{self.a}'")), ["1", "2"])

    def test_device_reads_its_models_only(self):
        token = self.device([self.a])
        with self.as_token(token):
            self.assertEqual(self.client.get_model_version_by_alias(self.a, "champion").version, "1")
            self.assertSameTree(self.download(f"models:/{self.a}@champion"), self.tree)
            self.assertDenied(self.client.get_registered_model, self.b)
            self.assertDenied(self.client.set_registered_model_tag, self.a, "k", "v")
            self.assertDenied(self.client.get_run, self.run.info.run_id)
            self.assertDenied(self.client.create_experiment, unique("exp"))

    def test_search_returns_only_readable_models(self):
        token = self.principal([("reader", f"{self.prefix}-a")])
        with self.as_token(token):
            self.assertEqual(
                [m.name for m in self.client.search_registered_models(f"name LIKE '{self.prefix}-%'")], [self.a]
            )
            self.assertEqual(
                [(v.name, v.version) for v in self.client.search_model_versions(f"name LIKE '{self.prefix}-%'")],
                [(self.a, "1")],
            )

    def test_writer_tracks_and_registers_but_may_not_promote_or_delete(self):
        principal, token = self.named_principal([("writer", f"{self.prefix}-*")])
        mine = f"{self.prefix}-w"
        with self.as_token(token):
            # Tracking, registering, metadata
            run, tree = self.run_with_files(seed=5)
            self.client.create_registered_model(mine, description="by the writer")
            version = self.client.create_model_version(mine, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
            self.assertEqual((version.version, version.status), ("1", "READY"))
            self.assertEqual(version.user_id, f"service:{principal}")
            self.client.set_model_version_tag(mine, "1", "validated", "true")
            self.client.update_registered_model(mine, "still the writer's")
            self.assertSameTree(self.download(f"models:/{mine}/1"), tree)
            # A training job: log a python_model and register it in one call
            logged_name = f"{self.prefix}-logged"
            with mlflow.start_run(experiment_id=run.info.experiment_id):
                info = mlflow.pyfunc.log_model(
                    name="model", python_model=EchoModel(), pip_requirements=[], registered_model_name=logged_name
                )
            self.assertEqual(str(info.registered_model_version), "1")
            self.assertEqual(self.client.get_model_version(logged_name, "1").status, "READY")
            # Stages and aliases need promoter, deletes and renames admin
            self.assertDenied(self.client.set_registered_model_alias, mine, "champion", "1")
            self.assertDenied(self.client.transition_model_version_stage, mine, "1", "Production")
            self.assertDenied(self.client.delete_model_version, mine, "1")
            self.assertDenied(self.client.delete_registered_model, mine)
            self.assertDenied(self.client.rename_registered_model, mine, f"{self.prefix}-w2")
        version = self.client.get_model_version(mine, "1")
        self.assertEqual((version.current_stage, version.aliases, version.tags), ("None", [], {"validated": "true"}))

    def test_promoter_stages_and_aliases_but_may_not_delete(self):
        token = self.principal([("promoter", f"{self.prefix}-*")])
        with self.as_token(token):
            self.client.transition_model_version_stage(self.a, "1", "Production", archive_existing_versions=True)
            self.client.set_registered_model_alias(self.a, "canary", "1")
            self.client.delete_registered_model_alias(self.a, "canary")
            self.assertDenied(self.client.delete_model_version, self.a, "1")
            self.assertDenied(self.client.delete_registered_model, self.a)
            self.assertDenied(self.client.rename_registered_model, self.a, f"{self.prefix}-renamed")
        self.assertEqual(self.client.get_model_version(self.a, "1").current_stage, "Production")

    def test_admin_of_a_pattern_deletes_and_renames_inside_it(self):
        token = self.principal([("admin", f"{self.prefix}-*")])
        with self.as_token(token):
            # Renaming out of the pattern is refused
            self.assertDenied(self.client.rename_registered_model, self.a, unique("outside"))
            self.client.rename_registered_model(self.a, f"{self.prefix}-renamed")
            self.client.delete_model_version(f"{self.prefix}-renamed", "1")
            self.client.delete_registered_model(self.b)
        self.assertEqual(
            [m.name for m in self.client.search_registered_models(f"name LIKE '{self.prefix}-%'")],
            [f"{self.prefix}-renamed"],
        )

    def test_runs_and_logged_models_belong_to_their_creator(self):
        owner = self.principal([("writer", f"{self.prefix}-*")])
        other = self.principal([("writer", f"{self.prefix}-*")])
        experiment = self.experiment()
        with self.as_token(owner):
            run, tree = self.run_with_files(experiment_id=experiment, seed=7)
            run_id = run.info.run_id
            self.client.log_param(run_id, "lr", "0.1")
            logged = self.client.create_logged_model(experiment, name="clf", source_run_id=run_id)
        with self.as_token(other):
            # Another writer reads them
            self.assertEqual(self.client.get_run(run_id).data.params, {"lr": "0.1"})
            self.assertSameTree(self.download(f"{run.info.artifact_uri}/model"), tree)
            self.assertEqual(self.client.get_logged_model(logged.model_id).name, "clf")
            # But may not change them, nor log a model of the run
            self.assertDenied(self.client.log_param, run_id, "x", "1")
            self.assertDenied(self.client.log_metric, run_id, "loss", 0.5)
            self.assertDenied(self.client.set_tag, run_id, "k", "v")
            self.assertDenied(self.client.set_terminated, run_id)
            self.assertDenied(self.client.log_batch, run_id, params=[mlflow.entities.Param("y", "2")])
            self.assertDenied(self.client.create_logged_model, experiment, name="mine", source_run_id=run_id)
            self.assertDenied(self.client.set_logged_model_tags, logged.model_id, {"k": "v"})
            self.assertDenied(self.client.finalize_logged_model, logged.model_id, "READY")
            # Nor write their artifacts (the artifact client raises its own error for the 403)
            extra = self.path("extra.txt")
            with open(extra, "w") as file:
                file.write("not yours")
            with self.assertRaisesRegex(Exception, "403|PERMISSION_DENIED"):
                self.client.log_artifact(run_id, extra)
            # While its own run is its own
            with mlflow.start_run(experiment_id=experiment) as mine:
                mlflow.log_param("lr", "0.2")
                mlflow.log_artifact(extra)
            self.assertEqual(self.client.get_run(mine.info.run_id).data.params, {"lr": "0.2"})
        self.assertEqual(self.client.get_run(run_id).data.params, {"lr": "0.1"})
        self.assertSameTree(self.download(f"{run.info.artifact_uri}/model"), tree)
        self.assertNotIn("extra.txt", [f.path for f in self.client.list_artifacts(run_id)])
        # The administrator may change them
        self.client.set_tag(run_id, "reviewed", "yes")
        self.client.finalize_logged_model(logged.model_id, "READY")
        self.assertEqual(self.client.get_run(run_id).data.tags.get("reviewed"), "yes")

    def test_unauthenticated(self):
        for token in (None, "mctl_0000000000000000_" + "A" * 43, "not-a-token"):
            with self.subTest(token=token), self.as_token(token):
                self.assertMlflowError("UNAUTHENTICATED", self.client.get_registered_model, self.a)
                self.assertMlflowError("UNAUTHENTICATED", self.client.search_registered_models)


class UnsupportedEndpointTests(MLflowTestCase):
    """A route of the MLflow API that the registry does not serve answers 404 ENDPOINT_NOT_FOUND, never 500."""

    def request(self, method, endpoint, **kwargs):
        return http_request(get_default_host_creds(TRACKING_URI), endpoint, method, max_retries=0, **kwargs)

    @modelctl_only
    def test_unknown_paths(self):
        for method, endpoint, body in [
            ("GET", "/api/2.0/mlflow/no-such-endpoint", None),
            ("POST", "/api/2.0/mlflow/no-such-endpoint", {"name": "x"}),
            ("POST", "/api/2.0/mlflow/registered-models/no-such-action", {"name": "x"}),
            ("GET", "/api/3.0/mlflow/no-such-endpoint", None),
        ]:
            with self.subTest(method=method, endpoint=endpoint):
                response = self.request(method, endpoint, json=body) if body else self.request(method, endpoint)
                self.assertEqual(response.status_code, 404, response.text)
                self.assertEqual(json.loads(response.text).get("error_code"), ENDPOINT_NOT_FOUND, response.text)

    @modelctl_only
    def test_client_calls_of_endpoints_the_registry_lacks(self):
        # Webhooks (/api/2.0/mlflow/webhooks) and traces are MLflow server features the registry does not have
        self.assertMlflowError(ENDPOINT_NOT_FOUND, self.client.list_webhooks)
        self.assertMlflowError(ENDPOINT_NOT_FOUND, self.client.search_traces, locations=["0"])


if __name__ == "__main__":
    unittest.main()
