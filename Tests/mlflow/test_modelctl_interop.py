"""Both ways between the MLflow client and the ``modelctl`` CLI (modelctl only): what MLflow registers, ``modelctl
pull`` gets byte for byte; what ``modelctl push`` registers, the MLflow client sees and downloads."""

import json
import os
import unittest

import mlflow
from support import (
    EchoModel,
    MLflowTestCase,
    modelctl_only,
    unique,
    write_tree,
)


@modelctl_only
class ModelctlInteropTests(MLflowTestCase):
    def pull(self, reference):
        """``modelctl pull REFERENCE -o DIR``; returns DIR."""
        directory = self.path(unique("pulled"))
        self.modelctl("pull", reference, "-o", directory, "-q")
        return directory

    def test_pull_by_alias_gets_what_mlflow_registered(self):
        name = unique("pull")
        self.version_from_files(name, seed=1)
        version, tree = self.version_from_files(name, seed=2)
        self.client.set_registered_model_alias(name, "champion", version.version)
        # The MLflow client and modelctl get the same bytes for the alias
        self.assertSameTree(self.download(f"models:/{name}@champion"), tree)
        self.assertSameTree(self.pull(f"{name}@champion"), tree)
        self.assertSameTree(self.pull(f"models:/{name}@champion"), tree)
        self.assertSameTree(self.pull(f"{name}:1"), write_tree(self.path("seed-1"), seed=1))

    def test_pull_a_logged_model(self):
        name = unique("pulllogged")
        with mlflow.start_run(experiment_id=self.experiment()):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=EchoModel(), pip_requirements=[], registered_model_name=name
            )
        self.client.set_registered_model_alias(name, "champion", "1")
        # The logged model's stored files, as the client downloads them from its artifact location
        logged = self.client.get_logged_model(info.model_id)
        stored = mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location, dst_path=self.path("l"))
        self.assertIn("python_model.pkl", os.listdir(stored))
        self.assertSameTree(self.pull(f"{name}@champion"), stored)

    def test_deleting_the_newest_version_makes_the_previous_one_latest(self):
        name = unique("latest")
        _, first = self.version_from_files(name, seed=1)
        self.version_from_files(name, seed=2)
        self.client.set_registered_model_alias(name, "champion", "2")
        self.client.delete_model_version(name, "2")
        # MLflow, modelctl and the v1 API agree that version 1 is now the latest
        self.assertEqual([v.version for v in self.client.get_latest_versions(name)], ["1"])
        self.assertSameTree(self.download(f"models:/{name}/latest"), first)
        self.assertSameTree(self.pull(name), first)
        shown = json.loads(self.modelctl("show", name, "-O", "json").stdout)
        self.assertEqual(shown.get("version"), 1, shown)

    def test_stage_and_alias_set_by_mlflow_resolve_in_modelctl(self):
        name = unique("resolve")
        self.version_from_files(name, seed=1)
        self.version_from_files(name, seed=2)
        self.client.transition_model_version_stage(name, "1", "Production")
        self.client.set_registered_model_alias(name, "canary", "2")
        shown = json.loads(self.modelctl("show", f"{name}/Production", "-O", "json").stdout)
        self.assertEqual(shown.get("version"), 1, shown)
        shown = json.loads(self.modelctl("show", f"{name}@canary", "-O", "json").stdout)
        self.assertEqual(shown.get("version"), 2, shown)

    def test_pushed_version_is_seen_by_mlflow(self):
        name = unique("push")
        tree = write_tree(self.path("tree"), seed=3)
        with mlflow.start_run(experiment_id=self.experiment()) as run:
            pass
        # Given a version pushed by modelctl, with a tag, a description and the MLflow run it came from
        pushed = self.modelctl(
            "push", tree, "--model", name, "--tag", "team=vision", "--description", "pushed by modelctl",
            "--run-id", run.info.run_id,
        )
        self.assertEqual(pushed.stdout.strip(), f"{name}:1")
        # Then the MLflow client sees the model and the version
        model = self.client.get_registered_model(name)
        self.assertEqual([(v.version, v.current_stage) for v in model.latest_versions], [("1", "None")])
        version = self.client.get_model_version(name, "1")
        self.assertEqual(version.status, "READY")
        self.assertEqual(version.current_stage, "None")
        self.assertEqual(version.description, "pushed by modelctl")
        self.assertEqual(version.tags.get("team"), "vision", version.tags)
        self.assertEqual(version.run_id, run.info.run_id)
        self.assertEqual([v.version for v in self.client.search_model_versions(f"name = '{name}'")], ["1"])
        # And downloads its files (the pushed ones plus the manifest.json push adds)
        uri = self.client.get_model_version_download_uri(name, "1")
        self.assertEqual(uri, f"mlflow-artifacts:/registry/{name}/1")
        by_uri = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=self.path("by-uri"))
        self.assertSameTree(by_uri, tree, extras=["manifest.json"])
        self.assertSameTree(self.download(f"models:/{name}/1"), tree, extras=["manifest.json"])
        # And a stage and alias set by modelctl are the MLflow ones
        self.modelctl("promote", f"{name}:1", "--alias", "champion", "-q")
        self.modelctl("promote", f"{name}:1", "--stage", "Production", "-q")
        self.assertEqual(self.client.get_model_version_by_alias(name, "champion").version, "1")
        self.assertEqual(self.client.get_model_version(name, "1").current_stage, "Production")
        self.assertSameTree(self.download(f"models:/{name}@champion"), tree, extras=["manifest.json"])
        self.assertSameTree(self.download(f"models:/{name}/Production"), tree, extras=["manifest.json"])

    def test_changes_through_mlflow_are_audited_under_the_token(self):
        prefix = unique("audit")
        principal, token = self.named_principal([("admin", f"{prefix}*")])
        name, new_name = f"{prefix}-a", f"{prefix}-b"
        with self.as_token(token):
            self.version_from_files(name)
            self.client.set_registered_model_alias(name, "champion", "1")
            self.client.transition_model_version_stage(name, "1", "Production")
            self.client.rename_registered_model(name, new_name)
        events = json.loads(self.modelctl("history", new_name, "-O", "json").stdout)["events"]
        kinds = [event["kind"] for event in events]
        for kind in ["version.created", "alias.set", "model.renamed"]:
            self.assertIn(kind, kinds)
        self.assertTrue(any(kind.startswith("stage") for kind in kinds), kinds)
        self.assertEqual({event["actor"] for event in events}, {f"service:{principal}"}, events)

    def test_mlflow_and_modelctl_versions_share_one_sequence(self):
        name = unique("mixed")
        self.version_from_files(name, seed=1)
        tree = write_tree(self.path("tree"), seed=4)
        self.assertEqual(self.modelctl("push", tree, "--model", name).stdout.strip(), f"{name}:2")
        third, _ = self.version_from_files(name, seed=5)
        self.assertEqual(third.version, "3")
        self.assertEqual(
            sorted(v.version for v in self.client.search_model_versions(f"name = '{name}'")), ["1", "2", "3"]
        )
        self.assertSameTree(self.download(f"models:/{name}/2"), tree, extras=["manifest.json"])


if __name__ == "__main__":
    unittest.main()
