"""Logged models (MLflow 3) through the client: log a python_model, register it by ``registered_model_name``, by
``runs:/`` and by ``models:/<model_id>``, and get the same bytes back by every URI, the download URI and pyfunc."""

import filecmp
import os
import unittest

import mlflow
import pandas
from support import (
    INVALID_PARAMETER_VALUE,
    IS_MODELCTL,
    RESOURCE_DOES_NOT_EXIST,
    EchoModel,
    MLflowTestCase,
    tree_digests,
    unique,
    write_tree,
)


# The client writes this file (the registered name and version) into what it downloads by models:/ URIs: it is not
# one of the stored files.
CLIENT_WRITTEN = ("registered_model_meta",)


class LoggedModelTests(MLflowTestCase):
    def log_model(self, experiment_id, registered_model_name=None):
        """Logs EchoModel with ``weights.bin`` of ``write_tree`` as an artifact; returns (model info, run id, tree)."""
        tree = write_tree(self.path(unique("tree")), seed=11)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.log_param("kind", "echo")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=EchoModel(),
                artifacts={"weights": os.path.join(tree, "weights.bin")},
                pip_requirements=[],
                registered_model_name=registered_model_name,
            )
        return info, run.info.run_id, tree

    def assertHoldsTheModel(self, directory, tree):
        """``directory`` is a downloaded copy of the logged EchoModel: MLmodel, the pickle, the weights' bytes."""
        files = tree_digests(directory)
        for name in ["MLmodel", "python_model.pkl", "artifacts/weights.bin"]:
            self.assertIn(name, files, f"{directory} lacks {name}: {sorted(files)}")
        self.assertTrue(
            filecmp.cmp(os.path.join(directory, "artifacts/weights.bin"), os.path.join(tree, "weights.bin"), False)
        )

    def test_log_model_and_register_by_name(self):
        experiment_id = self.experiment()
        name = unique("logged")
        # Given a python_model logged and registered in one call
        info, run_id, tree = self.log_model(experiment_id, registered_model_name=name)
        self.assertEqual(str(info.registered_model_version), "1")
        self.assertTrue(info.model_id.startswith("m-"), info.model_id)
        self.assertEqual(info.model_uri, f"models:/{info.model_id}")
        # Then the logged model is READY with its artifacts under the experiment
        logged = self.client.get_logged_model(info.model_id)
        self.assertEqual(logged.status, "READY")
        self.assertEqual(logged.source_run_id, run_id)
        self.assertEqual(logged.experiment_id, experiment_id)
        self.assertEqual(
            logged.artifact_location, f"mlflow-artifacts:/{experiment_id}/models/{info.model_id}/artifacts"
        )
        # And the registered version names the run and holds the same files as the logged model
        version = self.client.get_model_version(name, "1")
        self.assertEqual(version.status, "READY")
        self.assertEqual(version.run_id, run_id)
        self.assertEqual(version.source, f"models:/{info.model_id}")
        logged_files = self.download(f"models:/{info.model_id}")
        self.assertHoldsTheModel(logged_files, tree)
        self.assertSameTree(self.download(f"models:/{name}/1"), logged_files, ignoring=CLIENT_WRITTEN)
        # The download URI is a view of the version's files
        uri = self.client.get_model_version_download_uri(name, "1")
        if IS_MODELCTL:
            self.assertEqual(uri, f"mlflow-artifacts:/registry/{name}/1")
        else:
            self.assertEqual(uri, logged.artifact_location)
        by_uri = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=self.path("by-uri"))
        self.assertSameTree(by_uri, logged_files, ignoring=CLIENT_WRITTEN)
        # And by alias, with the bytes and through pyfunc
        self.client.set_registered_model_alias(name, "champion", "1")
        self.assertSameTree(self.download(f"models:/{name}@champion"), logged_files, ignoring=CLIENT_WRITTEN)
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        frame = pandas.DataFrame({"x": [1, 2, 3]})
        pandas.testing.assert_frame_equal(loaded.predict(frame), frame)

    def test_register_by_runs_uri(self):
        experiment_id = self.experiment()
        name = unique("byrun")
        info, run_id, tree = self.log_model(experiment_id)
        # When the logged model is registered by its run's URI
        version = mlflow.register_model(f"runs:/{run_id}/model", name)
        self.assertEqual(version.version, "1")
        self.assertEqual(version.status, "READY")
        self.assertEqual(version.run_id, run_id)
        # Then the version holds the logged model's files
        logged_files = self.download(f"models:/{info.model_id}")
        self.assertSameTree(self.download(f"models:/{name}/1"), logged_files, ignoring=CLIENT_WRITTEN)
        self.assertHoldsTheModel(self.download(f"models:/{name}/1"), tree)

    def test_register_by_model_id(self):
        experiment_id = self.experiment()
        name = unique("byid")
        info, run_id, tree = self.log_model(experiment_id)
        # When the logged model is registered twice by models:/<model_id> (the second time the model exists)
        first = mlflow.register_model(f"models:/{info.model_id}", name)
        second = mlflow.register_model(f"models:/{info.model_id}", name)
        self.assertEqual((first.version, second.version), ("1", "2"))
        for version in (first, second):
            self.assertEqual(version.status, "READY")
            self.assertEqual(version.source, f"models:/{info.model_id}")
        # Then both versions hold the logged model's files
        logged_files = self.download(f"models:/{info.model_id}")
        for version in ("1", "2"):
            self.assertSameTree(self.download(f"models:/{name}/{version}"), logged_files, ignoring=CLIENT_WRITTEN)
        # And the logged model is found by search, and records the versions made from it
        found = self.client.search_logged_models(experiment_ids=[experiment_id])
        self.assertEqual([m.model_id for m in found], [info.model_id])
        tags = self.client.get_logged_model(info.model_id).tags
        self.assertIn("mlflow.modelVersions", tags)
        self.assertIn(name, tags["mlflow.modelVersions"])

    def test_a_logged_model_is_registered_only_once_finalized(self):
        experiment_id = self.experiment()
        name = unique("pending")
        self.client.create_registered_model(name)
        tree = write_tree(self.path("pending-tree"), seed=4)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            logged = self.client.create_logged_model(experiment_id, name="clf", source_run_id=run.info.run_id)
            self.client.log_model_artifacts(logged.model_id, tree)
        # While it is pending, neither models:/<model_id> nor runs:/<run>/<name> is a source
        for source in (f"models:/{logged.model_id}", f"runs:/{run.info.run_id}/clf"):
            with self.subTest(source=source):
                error = self.assertMlflowError(
                    INVALID_PARAMETER_VALUE, self.client.create_model_version, name, source, run_id=run.info.run_id
                )
                self.assertIn("finalize", str(error))
        self.assertEqual(self.client.search_model_versions(f"name = '{name}'"), [])
        # Once finalized, it is
        self.client.finalize_logged_model(logged.model_id, "READY")
        version = self.client.create_model_version(name, f"models:/{logged.model_id}", model_id=logged.model_id)
        self.assertEqual((version.version, version.status), ("1", "READY"))
        self.assertSameTree(self.download(f"models:/{name}/1"), tree)

    def test_missing_logged_model(self):
        self.assertMlflowError(
            RESOURCE_DOES_NOT_EXIST, self.client.get_logged_model, "m-0123456789abcdef0123456789abcdef"
        )


if __name__ == "__main__":
    unittest.main()
