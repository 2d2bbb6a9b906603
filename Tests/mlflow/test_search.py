"""Searching registered models and model versions through the MLflow client: filters, ordering and paging."""

import unittest
import uuid

from support import INVALID_PARAMETER_VALUE, MLflowTestCase


class SearchRegisteredModelTests(MLflowTestCase):
    def setUp(self):
        super().setUp()
        # Five models under a prefix no other test uses: mlf-srch-<hex>-{a,b,c,d,e}; b and d are tagged
        self.prefix = f"mlf-srch-{uuid.uuid4().hex[:8]}"
        self.names = [f"{self.prefix}-{letter}" for letter in "abcde"]
        for name in self.names:
            self.client.create_registered_model(name)
        self.client.set_registered_model_tag(self.names[1], "team", "vision")
        self.client.set_registered_model_tag(self.names[3], "team", "vision")
        self.client.set_registered_model_tag(self.names[4], "team", "speech")

    def search(self, filter_string, **kwargs):
        return [m.name for m in self.client.search_registered_models(filter_string, **kwargs)]

    def test_name_equal_like_and_ilike(self):
        self.assertEqual(self.search(f"name = '{self.names[2]}'"), [self.names[2]])
        self.assertEqual(self.search(f"name = '{self.prefix}'"), [])
        self.assertEqual(sorted(self.search(f"name LIKE '{self.prefix}-%'")), self.names)
        self.assertEqual(self.search(f"name LIKE '{self.prefix}-_'", order_by=["name ASC"]), self.names)
        # LIKE is case-sensitive, ILIKE is not
        self.assertEqual(self.search(f"name LIKE '{self.prefix.upper()}-%'"), [])
        self.assertEqual(sorted(self.search(f"name ILIKE '{self.prefix.upper()}-%'")), self.names)
        self.assertEqual(self.search(f"name ILIKE '%{self.prefix[-8:].upper()}-C'"), [self.names[2]])
        self.assertEqual(
            sorted(self.search(f"name IN ('{self.names[0]}', '{self.names[3]}', 'nothing')")),
            [self.names[0], self.names[3]],
        )
        self.assertEqual(
            sorted(self.search(f"name != '{self.names[0]}' AND name LIKE '{self.prefix}-%'")), self.names[1:]
        )

    def test_tags(self):
        self.assertEqual(
            sorted(self.search(f"name LIKE '{self.prefix}-%' AND tags.team = 'vision'")),
            [self.names[1], self.names[3]],
        )
        self.assertEqual(self.search(f"name LIKE '{self.prefix}-%' AND tags.team = 'speech'"), [self.names[4]])
        self.assertEqual(
            sorted(self.search(f"name LIKE '{self.prefix}-%' AND tags.team LIKE '%i%'")),
            [self.names[1], self.names[3]],
        )
        self.assertEqual(self.search(f"name LIKE '{self.prefix}-%' AND tags.team = 'nobody'"), [])

    def test_order(self):
        self.assertEqual(self.search(f"name LIKE '{self.prefix}-%'", order_by=["name ASC"]), self.names)
        self.assertEqual(self.search(f"name LIKE '{self.prefix}-%'", order_by=["name DESC"]), self.names[::-1])

    def test_paging(self):
        pages = []
        token = None
        while True:
            page = self.client.search_registered_models(
                f"name LIKE '{self.prefix}-%'", max_results=2, order_by=["name ASC"], page_token=token
            )
            pages.append([m.name for m in page])
            token = page.token
            if not token:
                break
            self.assertLess(len(pages), 10, "paging does not end")
        self.assertEqual(pages, [self.names[0:2], self.names[2:4], self.names[4:5]])

    def test_invalid_filter_and_order(self):
        for filter_string in ["name = ", "version = '1'", "name ~ 'x'", "tags.team IN ('a')"]:
            with self.subTest(filter=filter_string):
                self.assertMlflowError(
                    INVALID_PARAMETER_VALUE, self.client.search_registered_models, filter_string
                )
        self.assertMlflowError(
            INVALID_PARAMETER_VALUE, self.client.search_registered_models, order_by=["color ASC"]
        )
        self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.search_registered_models, max_results=100000)
        self.assertMlflowError(
            INVALID_PARAMETER_VALUE,
            self.client.search_registered_models,
            f"name LIKE '{self.prefix}-%'",
            page_token="not-a-token",
        )


class SearchModelVersionTests(MLflowTestCase):
    def setUp(self):
        super().setUp()
        # Model A has versions 1-4 (1 and 2 from the same run, 3 tagged), model B has version 1 tagged the same
        self.prefix = f"mlf-srchv-{uuid.uuid4().hex[:8]}"
        self.a, self.b = f"{self.prefix}-a", f"{self.prefix}-b"
        for name in (self.a, self.b):
            self.client.create_registered_model(name)
        self.run, _ = self.run_with_files()
        self.source = f"{self.run.info.artifact_uri}/model"
        for _ in range(2):
            self.client.create_model_version(self.a, self.source, run_id=self.run.info.run_id)
        self.other_run, _ = self.run_with_files(seed=2)
        other_source = f"{self.other_run.info.artifact_uri}/model"
        self.client.create_model_version(self.a, other_source, run_id=self.other_run.info.run_id, tags={"gate": "pass"})
        self.client.create_model_version(self.a, other_source, run_id=self.other_run.info.run_id)
        self.client.create_model_version(self.b, other_source, run_id=self.other_run.info.run_id, tags={"gate": "pass"})

    def search(self, filter_string, **kwargs):
        return [(v.name, v.version) for v in self.client.search_model_versions(filter_string, **kwargs)]

    def test_by_name(self):
        self.assertEqual(sorted(self.search(f"name = '{self.a}'")), [(self.a, v) for v in "1234"])
        self.assertEqual(self.search(f"name = '{self.b}'"), [(self.b, "1")])
        self.assertEqual(self.search(f"name = '{self.prefix}'"), [])

    def test_by_run_id(self):
        self.assertEqual(sorted(self.search(f"run_id = '{self.run.info.run_id}'")), [(self.a, "1"), (self.a, "2")])
        self.assertEqual(
            sorted(self.search(f"run_id = '{self.other_run.info.run_id}'")),
            [(self.a, "3"), (self.a, "4"), (self.b, "1")],
        )
        self.assertEqual(
            sorted(self.search(f"name = '{self.b}' AND run_id = '{self.other_run.info.run_id}'")), [(self.b, "1")]
        )

    def test_by_tags(self):
        self.assertEqual(
            sorted(self.search(f"name LIKE '{self.prefix}-%' AND tags.gate = 'pass'")), [(self.a, "3"), (self.b, "1")]
        )
        self.assertEqual(self.search(f"name = '{self.a}' AND tags.gate = 'pass'"), [(self.a, "3")])
        self.assertEqual(self.search(f"name = '{self.a}' AND tags.gate = 'fail'"), [])

    def test_by_version_number(self):
        self.assertEqual(
            sorted(self.search(f"name = '{self.a}' AND version_number > 2")), [(self.a, "3"), (self.a, "4")]
        )
        self.assertEqual(self.search(f"name = '{self.a}' AND version_number = 2"), [(self.a, "2")])

    def test_by_source(self):
        self.assertEqual(
            sorted(self.search(f"name = '{self.a}' AND source_path = '{self.source}'")), [(self.a, "1"), (self.a, "2")]
        )

    def test_order_and_paging(self):
        self.assertEqual(
            self.search(f"name = '{self.a}'", order_by=["version_number DESC"]), [(self.a, v) for v in "4321"]
        )
        self.assertEqual(
            self.search(f"name = '{self.a}'", order_by=["version_number ASC"]), [(self.a, v) for v in "1234"]
        )
        pages = []
        token = None
        while True:
            page = self.client.search_model_versions(
                f"name LIKE '{self.prefix}-%'",
                max_results=2,
                order_by=["name ASC", "version_number DESC"],
                page_token=token,
            )
            pages.append([(v.name, v.version) for v in page])
            token = page.token
            if not token:
                break
            self.assertLess(len(pages), 10, "paging does not end")
        self.assertEqual(
            pages, [[(self.a, "4"), (self.a, "3")], [(self.a, "2"), (self.a, "1")], [(self.b, "1")]]
        )

    def test_invalid_filter(self):
        for filter_string in ["name = ", "stage = 'Production'", "name ~ 'x'"]:
            with self.subTest(filter=filter_string):
                self.assertMlflowError(INVALID_PARAMETER_VALUE, self.client.search_model_versions, filter_string)
        self.assertMlflowError(
            INVALID_PARAMETER_VALUE,
            self.client.search_model_versions,
            f"name = '{self.a}'",
            order_by=["color ASC"],
        )


if __name__ == "__main__":
    unittest.main()
