"""Model versions through the MLflow client: created directly, described, tagged, staged, aliased, deleted, and the
sources the registry refuses."""

import unittest
from concurrent.futures import ThreadPoolExecutor

import mlflow

from support import (
    INVALID_PARAMETER_VALUE,
    IS_MODELCTL,
    RESOURCE_DOES_NOT_EXIST,
    MLflowTestCase,
    unique,
)


class ModelVersionTests(MLflowTestCase):
    def test_create_versions_directly(self):
        name = unique("direct")
        self.client.create_registered_model(name)
        run, tree = self.run_with_files()
        source = f"{run.info.artifact_uri}/model"
        # Given a version made from a run's mlflow-artifacts:/ files, with tags and a description
        first = self.client.create_model_version(
            name, source, run_id=run.info.run_id, tags={"framework": "onnx"}, description="first try"
        )
        self.assertEqual(first.name, name)
        self.assertEqual(first.version, "1")
        self.assertEqual(first.status, "READY")
        self.assertEqual(first.current_stage, "None")
        self.assertEqual(first.run_id, run.info.run_id)
        self.assertEqual(first.source, source)
        self.assertEqual(first.tags, {"framework": "onnx"})
        self.assertEqual(first.description, "first try")
        # And one made from the same run's runs:/ URI
        second = self.client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
        self.assertEqual(second.version, "2")
        self.assertEqual(second.status, "READY")
        # Then get returns them, and both hold the run's files
        got = self.client.get_model_version(name, "1")
        self.assertEqual(
            (got.version, got.source, got.run_id, got.description), ("1", source, run.info.run_id, "first try")
        )
        self.assertEqual(got.tags, {"framework": "onnx"})
        self.assertGreater(got.creation_timestamp, 0)
        for version in ("1", "2"):
            self.assertSameTree(self.download(f"models:/{name}/{version}"), tree)
        # The download URI is a view of the version's files (MLflow's own server answers the source's location)
        uri = self.client.get_model_version_download_uri(name, "1")
        self.assertEqual(uri, f"mlflow-artifacts:/registry/{name}/1" if IS_MODELCTL else source)
        self.assertSameTree(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=self.path("by-uri")), tree)
        # And the model lists the latest version of the None stage
        latest = self.client.get_registered_model(name).latest_versions
        self.assertEqual([(v.version, v.current_stage) for v in latest], [("2", "None")])

    def test_copy_model_version(self):
        # Promotion between models: copy_model_version registers models:/SOURCE/VERSION under another name
        source, target = unique("copysrc"), unique("copydst")
        self.version_from_files(source, seed=1)
        v2, tree2 = self.version_from_files(source, seed=2)
        self.client.set_registered_model_alias(source, "champion", v2.version)
        copied = self.client.copy_model_version(f"models:/{source}@champion", target)
        self.assertEqual((copied.name, copied.version, copied.status), (target, "1", "READY"))
        self.assertEqual(copied.run_id, v2.run_id)
        self.assertSameTree(self.download(f"models:/{target}/1"), tree2)

    def test_concurrent_registrations_get_distinct_numbers(self):
        name = unique("concurrent")
        self.client.create_registered_model(name)
        run, tree = self.run_with_files()
        source = f"{run.info.artifact_uri}/model"
        with ThreadPoolExecutor(max_workers=6) as pool:
            versions = list(
                pool.map(
                    lambda _: self.client.create_model_version(name, source, run_id=run.info.run_id).version,
                    range(6),
                )
            )
        self.assertEqual(sorted(versions, key=int), ["1", "2", "3", "4", "5", "6"])
        self.assertSameTree(self.download(f"models:/{name}/6"), tree)

    def test_update_description_and_tags(self):
        name = unique("meta")
        version, _ = self.version_from_files(name)
        updated = self.client.update_model_version(name, version.version, description="better")
        self.assertEqual(updated.description, "better")
        self.client.set_model_version_tag(name, version.version, "validated", "true")
        self.client.set_model_version_tag(name, version.version, "dataset", "cats-v2")
        self.assertEqual(
            self.client.get_model_version(name, version.version).tags, {"validated": "true", "dataset": "cats-v2"}
        )
        self.client.set_model_version_tag(name, version.version, "validated", "false")
        self.client.delete_model_version_tag(name, version.version, "dataset")
        got = self.client.get_model_version(name, version.version)
        self.assertEqual(got.tags, {"validated": "false"})
        self.assertEqual(got.description, "better")

    def test_version_not_found(self):
        name = unique("nf")
        self.version_from_files(name)
        missing_model = unique("missing")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_model_version, name, "99")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_model_version, missing_model, "1")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.update_model_version, name, "99", "text")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.set_model_version_tag, name, "99", "k", "v")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.delete_model_version_tag, name, "99", "k")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.delete_model_version, name, "99")
        self.assertMlflowError(
            RESOURCE_DOES_NOT_EXIST, self.client.transition_model_version_stage, name, "99", "Production"
        )
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_model_version_download_uri, name, "99")
        run, _ = self.run_with_files()
        self.assertMlflowError(
            RESOURCE_DOES_NOT_EXIST,
            self.client.create_model_version,
            missing_model,
            f"{run.info.artifact_uri}/model",
            run_id=run.info.run_id,
        )

    def test_invalid_version_number(self):
        name = unique("badnum")
        self.version_from_files(name)
        self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.get_model_version, name, "one")

    def test_delete_version(self):
        name = unique("delv")
        first, _ = self.version_from_files(name, seed=1)
        second, tree2 = self.version_from_files(name, seed=2)
        self.client.delete_model_version(name, first.version)
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_model_version, name, first.version)
        self.assertEqual([v.version for v in self.client.search_model_versions(f"name = '{name}'")], ["2"])
        self.assertSameTree(self.download(f"models:/{name}/{second.version}"), tree2)
        # Version numbers are not reused
        third, _ = self.version_from_files(name, seed=3)
        self.assertEqual(third.version, "3")


class StageTests(MLflowTestCase):
    def test_transition_with_and_without_archiving(self):
        name = unique("stage")
        v1, _ = self.version_from_files(name, seed=1)
        v2, _ = self.version_from_files(name, seed=2)
        v3, _ = self.version_from_files(name, seed=3)
        v4, _ = self.version_from_files(name, seed=4)
        self.client.transition_model_version_stage(name, v4.version, "Staging")
        # Given v1 in Production and v2 in Staging
        moved = self.client.transition_model_version_stage(name, v1.version, "Production")
        self.assertEqual(moved.current_stage, "Production")
        self.client.transition_model_version_stage(name, v2.version, "staging")  # case-insensitive
        self.assertEqual(self.client.get_model_version(name, v2.version).current_stage, "Staging")
        # When v2 goes to Production without archiving, both are in Production
        self.client.transition_model_version_stage(name, v2.version, "Production", archive_existing_versions=False)
        self.assertEqual(self.client.get_model_version(name, v1.version).current_stage, "Production")
        # When v3 goes to Production archiving the others, v1 and v2 are Archived; v4 stays in Staging
        moved = self.client.transition_model_version_stage(
            name, v3.version, "Production", archive_existing_versions=True
        )
        self.assertEqual(moved.current_stage, "Production")
        stages = {v.version: v.current_stage for v in self.client.search_model_versions(f"name = '{name}'")}
        self.assertEqual(stages, {"1": "Archived", "2": "Archived", "3": "Production", "4": "Staging"})
        # And back to None
        self.client.transition_model_version_stage(name, v1.version, "None")
        self.assertEqual(self.client.get_model_version(name, v1.version).current_stage, "None")

    def test_get_latest_versions(self):
        name = unique("latest")
        versions = [self.version_from_files(name, seed=seed)[0].version for seed in (1, 2, 3, 4)]
        self.client.transition_model_version_stage(name, versions[0], "Production")
        self.client.transition_model_version_stage(name, versions[1], "Production")
        self.client.transition_model_version_stage(name, versions[2], "Staging")
        # The latest of each stage
        latest = self.client.get_latest_versions(name)
        self.assertEqual(
            sorted((v.current_stage, v.version) for v in latest),
            [("None", "4"), ("Production", "2"), ("Staging", "3")],
        )
        self.assertEqual([v.version for v in self.client.get_latest_versions(name, stages=["Production"])], ["2"])
        self.assertEqual(
            sorted(v.version for v in self.client.get_latest_versions(name, stages=["Staging", "None"])), ["3", "4"]
        )
        self.assertEqual(self.client.get_latest_versions(name, stages=["Archived"]), [])
        # Stage URIs resolve to the same versions
        self.assertEqual(
            sorted(
                (v.current_stage, v.version) for v in self.client.get_registered_model(name).latest_versions
            ),
            [("None", "4"), ("Production", "2"), ("Staging", "3")],
        )
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_latest_versions, unique("missing"))

    def test_stage_uri_downloads_the_stage_holder(self):
        name = unique("stageuri")
        self.version_from_files(name, seed=1)
        v2, tree2 = self.version_from_files(name, seed=2)
        self.client.transition_model_version_stage(name, v2.version, "Production")
        self.assertSameTree(self.download(f"models:/{name}/Production"), tree2)

    def test_invalid_stage(self):
        name = unique("badstage")
        version, _ = self.version_from_files(name)
        self.assertMlflowError(
            INVALID_PARAMETER_VALUE, self.client.transition_model_version_stage, name, version.version, "Live"
        )
        self.assertEqual(self.client.get_model_version(name, version.version).current_stage, "None")


class AliasTests(MLflowTestCase):
    def test_set_get_move_and_delete(self):
        name = unique("alias")
        v1, tree1 = self.version_from_files(name, seed=1)
        v2, tree2 = self.version_from_files(name, seed=2)
        # Given champion on v1 and canary on v2
        self.client.set_registered_model_alias(name, "champion", v1.version)
        self.client.set_registered_model_alias(name, "canary", v2.version)
        by_alias = self.client.get_model_version_by_alias(name, "champion")
        self.assertEqual(by_alias.version, v1.version)
        self.assertEqual(by_alias.aliases, ["champion"])
        self.assertEqual(self.client.get_registered_model(name).aliases, {"champion": "1", "canary": "2"})
        self.assertEqual(self.client.get_model_version(name, v2.version).aliases, ["canary"])
        self.assertSameTree(self.download(f"models:/{name}@champion"), tree1)
        # When champion moves to v2
        self.client.set_registered_model_alias(name, "champion", v2.version)
        self.assertEqual(self.client.get_model_version_by_alias(name, "champion").version, v2.version)
        self.assertEqual(sorted(self.client.get_model_version(name, v2.version).aliases), ["canary", "champion"])
        self.assertEqual(self.client.get_model_version(name, v1.version).aliases, [])
        self.assertSameTree(self.download(f"models:/{name}@champion"), tree2)
        self.assertSameTree(self.download(f"models:/{name}/latest"), tree2)
        # When canary is deleted
        self.client.delete_registered_model_alias(name, "canary")
        self.assertEqual(self.client.get_registered_model(name).aliases, {"champion": "2"})
        self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.get_model_version_by_alias, name, "canary")

    def test_alias_errors(self):
        name = unique("aliaserr")
        version, _ = self.version_from_files(name)
        missing = unique("missing")
        # An alias that is not set, on a model that exists
        self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.get_model_version_by_alias, name, "nobody")
        # A model that does not exist
        self.assertMlflowError(
            RESOURCE_DOES_NOT_EXIST, self.client.set_registered_model_alias, missing, "champion", "1"
        )
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_model_version_by_alias, missing, "champion")
        # A version that does not exist
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.set_registered_model_alias, name, "champion", "99")
        # Reserved names
        for alias in ["latest", "v1", "V12"]:
            with self.subTest(alias=alias):
                self.assertMlflowError(
                    INVALID_PARAMETER_VALUE, self.client.set_registered_model_alias, name, alias, version.version
                )
        self.assertEqual(self.client.get_registered_model(name).aliases, {})

    def test_deleting_a_version_drops_its_aliases(self):
        name = unique("aliasdel")
        v1, _ = self.version_from_files(name, seed=1)
        self.version_from_files(name, seed=2)
        self.client.set_registered_model_alias(name, "champion", v1.version)
        self.client.delete_model_version(name, v1.version)
        self.assertEqual(self.client.get_registered_model(name).aliases, {})


class SourceTests(MLflowTestCase):
    """Only mlflow-artifacts:/, runs:/ and models:/ sources that point into the registry are accepted."""

    def test_refused_sources(self):
        name = unique("src")
        self.client.create_registered_model(name)
        run, _ = self.run_with_files()
        refused = [
            "file:///etc",
            "/etc/passwd",
            "../x",
            "mlflow-artifacts:/1/../../x",
            f"{run.info.artifact_uri}/../../../../etc",
            "http://127.0.0.1:1/x",
        ]
        if IS_MODELCTL:
            # MLflow's own server stores any URI of a remote artifact store; modelctl holds the files itself
            refused += ["s3://bucket/x", "gs://bucket/x", "hdfs://host/x", "ftp://host/x"]
        for source in refused:
            for run_id in (None, run.info.run_id):
                with self.subTest(source=source, run_id=run_id):
                    self.assertMlflowError(
                        INVALID_PARAMETER_VALUE, self.client.create_model_version, name, source, run_id=run_id
                    )
        self.assertEqual(self.client.search_model_versions(f"name = '{name}'"), [])

    def test_source_outside_the_run(self):
        # A run's files, named with another run's id
        name = unique("srcrun")
        self.client.create_registered_model(name)
        run, _ = self.run_with_files()
        other, _ = self.run_with_files()
        self.assertMlflowError(
            INVALID_PARAMETER_VALUE,
            self.client.create_model_version,
            name,
            f"{run.info.artifact_uri}/model",
            run_id=other.info.run_id,
        )

    def test_missing_run_or_model(self):
        name = unique("srcmissing")
        self.client.create_registered_model(name)
        for source in ["runs:/0123456789abcdef0123456789abcdef/model", "models:/m-0123456789abcdef0123456789abcdef"]:
            with self.subTest(source=source):
                with self.assertRaises(Exception) as raised:
                    self.client.create_model_version(name, source)
                self.assertIn(
                    getattr(raised.exception, "error_code", None), (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE)
                )


if __name__ == "__main__":
    unittest.main()
