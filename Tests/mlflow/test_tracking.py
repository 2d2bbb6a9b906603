"""Tracking through the MLflow client: experiments, runs, parameters, metrics, tags and run artifacts."""

import os
import time
import unittest

import mlflow
from support import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MLflowTestCase,
    modelctl_only,
    unique,
    write_tree,
)


class ExperimentTests(MLflowTestCase):
    def test_default_experiment(self):
        experiment = self.client.get_experiment("0")
        self.assertEqual(experiment.name, "Default")
        self.assertEqual(experiment.artifact_location, "mlflow-artifacts:/0")
        self.assertEqual(experiment.lifecycle_stage, "active")
        self.assertEqual(self.client.get_experiment_by_name("Default").experiment_id, "0")

    def test_set_experiment_creates_it_once(self):
        name = unique("exp")
        # Given no experiment of that name, set_experiment creates it (get-by-name 404, create, get)
        self.assertIsNone(self.client.get_experiment_by_name(name))
        created = mlflow.set_experiment(name)
        self.assertEqual(created.name, name)
        self.assertEqual(created.artifact_location, f"mlflow-artifacts:/{created.experiment_id}")
        # Then it is found by id and by name, and set_experiment again returns the same one
        self.assertEqual(self.client.get_experiment(created.experiment_id).name, name)
        self.assertEqual(self.client.get_experiment_by_name(name).experiment_id, created.experiment_id)
        self.assertEqual(mlflow.set_experiment(name).experiment_id, created.experiment_id)
        # And a second one of the same name is refused
        self.assertMlflowError(RESOURCE_ALREADY_EXISTS, self.client.create_experiment, name)

    def test_workspace_style_names(self):
        # Names with slashes, as Databricks workspaces and many training scripts write them
        name = f"/Shared/{unique('team')}/cats vs dogs"
        experiment = mlflow.set_experiment(name)
        self.assertEqual(self.client.get_experiment_by_name(name).experiment_id, experiment.experiment_id)
        self.assertEqual(self.client.get_experiment(experiment.experiment_id).name, name)

    def test_search_experiments(self):
        name = unique("exp")
        experiment_id = self.client.create_experiment(name)
        found = self.client.search_experiments(filter_string=f"name = '{name}'")
        self.assertEqual([e.experiment_id for e in found], [experiment_id])
        self.assertIn("0", [e.experiment_id for e in self.client.search_experiments(max_results=1000)])

    @modelctl_only
    def test_artifact_location_is_refused(self):
        # All artifacts live in the registry's store
        for location in ["file:///tmp/elsewhere", "s3://bucket/path", "/tmp/elsewhere"]:
            with self.subTest(location=location):
                self.assertMlflowError(
                    INVALID_PARAMETER_VALUE, self.client.create_experiment, unique("exp"), artifact_location=location
                )

    def test_missing_experiment(self):
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_experiment, "987654321")
        self.assertIsNone(self.client.get_experiment_by_name(unique("missing")))


class RunTests(MLflowTestCase):
    def test_run_with_params_metrics_and_tags(self):
        experiment_id = self.experiment()
        before = int(time.time() * 1000) - 1000
        # Given a run that logs parameters, metrics (one with three steps) and tags
        with mlflow.start_run(experiment_id=experiment_id, run_name="training") as active:
            run_id = active.info.run_id
            mlflow.log_param("lr", "0.01")
            mlflow.log_params({"epochs": 3, "optimizer": "adam"})
            for step, loss in enumerate([0.9, 0.5, 0.25]):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metrics({"accuracy": 0.875, "f1": 0.5})
            mlflow.set_tag("team", "vision")
            mlflow.set_tags({"dataset": "cats-v2"})
        # Then the client reads all of it back
        run = self.client.get_run(run_id)
        self.assertEqual(run.info.experiment_id, experiment_id)
        self.assertEqual(run.info.run_name, "training")
        self.assertEqual(run.info.status, "FINISHED")
        self.assertEqual(run.info.lifecycle_stage, "active")
        self.assertGreaterEqual(run.info.start_time, before)
        self.assertGreaterEqual(run.info.end_time, run.info.start_time)
        self.assertEqual(run.info.artifact_uri, f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts")
        self.assertEqual(run.data.params, {"lr": "0.01", "epochs": "3", "optimizer": "adam"})
        self.assertEqual(run.data.metrics, {"loss": 0.25, "accuracy": 0.875, "f1": 0.5})
        self.assertEqual(run.data.tags["team"], "vision")
        self.assertEqual(run.data.tags["dataset"], "cats-v2")
        self.assertEqual(run.data.tags["mlflow.runName"], "training")
        history = self.client.get_metric_history(run_id, "loss")
        self.assertEqual(
            [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)], [(0, 0.9), (1, 0.5), (2, 0.25)]
        )

    def test_search_runs(self):
        experiment_id = self.experiment()
        runs = {}
        for name, optimizer, accuracy in [("a", "adam", 0.7), ("b", "sgd", 0.9), ("c", "adam", 0.8)]:
            with mlflow.start_run(experiment_id=experiment_id, run_name=name) as active:
                mlflow.log_param("optimizer", optimizer)
                mlflow.log_metric("accuracy", accuracy)
            runs[name] = active.info.run_id
        # As a data frame, filtered and ordered
        frame = mlflow.search_runs(
            experiment_ids=[experiment_id],
            filter_string="params.optimizer = 'adam'",
            order_by=["metrics.accuracy DESC"],
        )
        self.assertEqual(list(frame["run_id"]), [runs["c"], runs["a"]])
        self.assertEqual(list(frame["metrics.accuracy"]), [0.8, 0.7])
        # As Run objects, by metric
        found = self.client.search_runs([experiment_id], "metrics.accuracy > 0.75", order_by=["metrics.accuracy ASC"])
        self.assertEqual([r.info.run_id for r in found], [runs["c"], runs["b"]])
        self.assertEqual(
            [r.info.run_id for r in self.client.search_runs([experiment_id], "attributes.run_name = 'b'")],
            [runs["b"]],
        )

    def test_values_up_to_mlflow_limits(self):
        # MLflow accepts parameter values of 6000 characters and run tag values of 8000 (a model config as JSON)
        with mlflow.start_run(experiment_id=self.experiment()) as active:
            mlflow.log_param("config", "p" * 6000)
            mlflow.set_tag("notes", "t" * 8000)
            mlflow.log_param("unicode", "naïve café ✓")
        run = self.client.get_run(active.info.run_id)
        self.assertEqual(run.data.params["config"], "p" * 6000)
        self.assertEqual(run.data.tags["notes"], "t" * 8000)
        self.assertEqual(run.data.params["unicode"], "naïve café ✓")

    def test_failed_run(self):
        experiment_id = self.experiment()
        with self.assertRaises(RuntimeError):
            with mlflow.start_run(experiment_id=experiment_id) as active:
                raise RuntimeError("training crashed")
        self.assertEqual(self.client.get_run(active.info.run_id).info.status, "FAILED")

    def test_changing_a_logged_param_is_refused(self):
        with mlflow.start_run(experiment_id=self.experiment()) as active:
            mlflow.log_param("lr", "0.01")
            self.assertMlflowError(
                INVALID_PARAMETER_VALUE, self.client.log_param, active.info.run_id, "lr", "0.02"
            )
            # the same value again is fine
            self.client.log_param(active.info.run_id, "lr", "0.01")

    def test_missing_run(self):
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_run, "0123456789abcdef0123456789abcdef")

    def test_run_in_missing_experiment(self):
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.create_run, "987654321")


class RunArtifactTests(MLflowTestCase):
    def test_log_list_and_download_artifacts(self):
        tree = write_tree(self.path("tree"), seed=7)
        extra = self.path("notes.txt")
        with open(extra, "w") as f:
            f.write("trained on cats\n")
        # Given a run with a directory of files under model/ and one file at the root
        with mlflow.start_run(experiment_id=self.experiment()) as active:
            mlflow.log_artifacts(tree, "model")
            mlflow.log_artifact(extra)
        run_id = active.info.run_id
        # Then listing shows them, with sizes
        root = {f.path: f for f in self.client.list_artifacts(run_id)}
        self.assertEqual(sorted(root), ["model", "notes.txt"])
        self.assertTrue(root["model"].is_dir)
        self.assertEqual(root["notes.txt"].file_size, 16)
        model = {f.path: f for f in self.client.list_artifacts(run_id, "model")}
        self.assertEqual(sorted(model), ["model/config.json", "model/sub", "model/weights.bin"])
        # (an empty file's size is 0 on the wire, which JSON leaves out, so the client may see None)
        nested = {f.path: f.file_size or 0 for f in self.client.list_artifacts(run_id, "model/sub")}
        sub = os.path.join(tree, "sub")
        self.assertEqual(nested, {f"model/sub/{n}": os.path.getsize(os.path.join(sub, n)) for n in os.listdir(sub)})
        self.assertEqual(nested["model/sub/empty.bin"], 0)
        self.assertEqual(model["model/weights.bin"].file_size, 262144)
        self.assertTrue(model["model/sub"].is_dir)
        # And downloads give the same bytes, by run id and by artifact URI
        by_run = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="model", dst_path=self.path("by-run")
        )
        self.assertSameTree(by_run, tree)
        by_uri = mlflow.artifacts.download_artifacts(
            artifact_uri=f"runs:/{run_id}/model", dst_path=self.path("by-uri")
        )
        self.assertSameTree(by_uri, tree)
        artifact_uri = self.client.get_run(run_id).info.artifact_uri
        single = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{artifact_uri}/notes.txt", dst_path=self.path("single")
        )
        with open(single) as f:
            self.assertEqual(f.read(), "trained on cats\n")

    def test_missing_artifact(self):
        with mlflow.start_run(experiment_id=self.experiment()) as active:
            mlflow.log_text("x", "a.txt")
        self.assertEqual(self.client.list_artifacts(active.info.run_id, "nothing-here"), [])
        with self.assertRaises(Exception):
            mlflow.artifacts.download_artifacts(
                run_id=active.info.run_id, artifact_path="nothing-here.bin", dst_path=self.path("x")
            )


if __name__ == "__main__":
    unittest.main()
