"""Registered models through the MLflow client: create, read, describe, tag, rename and delete."""

import unittest

from support import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    MLflowTestCase,
    modelctl_only,
    unique,
)


class RegisteredModelTests(MLflowTestCase):
    def test_create_get_and_update(self):
        name = unique("model")
        # Given a model created with tags and a description
        created = self.client.create_registered_model(
            name, tags={"team": "vision", "task": "classification"}, description="cats and dogs"
        )
        self.assertEqual(created.name, name)
        self.assertEqual(created.description, "cats and dogs")
        self.assertEqual(created.tags, {"team": "vision", "task": "classification"})
        self.assertGreater(created.creation_timestamp, 0)
        # Then get returns the same, with no versions yet
        model = self.client.get_registered_model(name)
        self.assertEqual(model.name, name)
        self.assertEqual(model.description, "cats and dogs")
        self.assertEqual(model.tags, {"team": "vision", "task": "classification"})
        self.assertEqual(model.latest_versions, [])
        self.assertEqual(model.aliases, {})
        self.assertEqual(model.creation_timestamp, created.creation_timestamp)
        # When the description changes
        updated = self.client.update_registered_model(name, description="cats, dogs and foxes")
        self.assertEqual(updated.description, "cats, dogs and foxes")
        self.assertEqual(self.client.get_registered_model(name).description, "cats, dogs and foxes")
        self.assertGreaterEqual(
            self.client.get_registered_model(name).last_updated_timestamp, created.last_updated_timestamp
        )

    def test_tags(self):
        name = unique("tags")
        self.client.create_registered_model(name)
        self.client.set_registered_model_tag(name, "owner", "alice")
        self.client.set_registered_model_tag(name, "mlflow.note", "keep")
        self.assertEqual(self.client.get_registered_model(name).tags, {"owner": "alice", "mlflow.note": "keep"})
        # A tag set again is replaced
        self.client.set_registered_model_tag(name, "owner", "bob")
        self.assertEqual(self.client.get_registered_model(name).tags["owner"], "bob")
        self.client.delete_registered_model_tag(name, "owner")
        self.assertEqual(self.client.get_registered_model(name).tags, {"mlflow.note": "keep"})
        # Tags of a model that does not exist
        missing = unique("missing")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.set_registered_model_tag, missing, "k", "v")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.delete_registered_model_tag, missing, "k")

    def test_already_exists(self):
        name = unique("dup")
        self.client.create_registered_model(name)
        self.assertMlflowError(RESOURCE_ALREADY_EXISTS, self.client.create_registered_model, name)

    def test_not_found(self):
        name = unique("missing")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_registered_model, name)
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.update_registered_model, name, "text")
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.rename_registered_model, name, unique("new"))
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.delete_registered_model, name)

    def test_empty_name_is_invalid(self):
        self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.create_registered_model, "")

    @modelctl_only
    def test_name_outside_modelctl_rules_is_invalid(self):
        # modelctl names are 1-128 of A-Z a-z 0-9 . _ - starting with a letter or digit
        for name in ["bad name", "a/b", "-leading-dash", "x" * 129]:
            with self.subTest(name=name):
                self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.create_registered_model, name)

    def test_rename(self):
        name, new_name = unique("old"), unique("new")
        first, tree = self.version_from_files(name)
        self.client.set_registered_model_tag(name, "owner", "alice")
        self.client.set_registered_model_alias(name, "champion", first.version)
        # When renamed
        self.client.rename_registered_model(name, new_name)
        # Then the old name is gone and the new one has the versions, tags and aliases
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_registered_model, name)
        model = self.client.get_registered_model(new_name)
        self.assertEqual(model.tags, {"owner": "alice"})
        self.assertEqual(model.aliases, {"champion": first.version})
        version = self.client.get_model_version(new_name, first.version)
        self.assertEqual(version.name, new_name)
        self.assertEqual(version.status, "READY")
        self.assertEqual(self.client.get_model_version_by_alias(new_name, "champion").version, first.version)
        downloaded = self.download(f"models:/{new_name}/{first.version}")
        self.assertSameTree(downloaded, tree)
        # And the old name can be used again
        self.client.create_registered_model(name)

    def test_rename_onto_an_existing_model(self):
        name, other = unique("a"), unique("b")
        self.client.create_registered_model(name)
        self.client.create_registered_model(other)
        self.assertMlflowError(RESOURCE_ALREADY_EXISTS, self.client.rename_registered_model, name, other)
        self.assertEqual(self.client.get_registered_model(name).name, name)

    def test_delete(self):
        # Deleting a model deletes it with its versions, even when a stage or an alias points into it
        name = unique("del")
        first, _ = self.version_from_files(name)
        self.client.set_registered_model_alias(name, "champion", first.version)
        self.client.transition_model_version_stage(name, first.version, "Production")
        self.client.delete_registered_model(name)
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_registered_model, name)
        self.assertMlflowError(RESOURCE_DOES_NOT_EXIST, self.client.get_model_version, name, first.version)
        self.assertEqual(self.client.search_model_versions(f"name = '{name}'"), [])
        self.assertEqual(self.client.search_registered_models(f"name = '{name}'"), [])


if __name__ == "__main__":
    unittest.main()
