import Testing

@testable import Registry

/// MLflow's search-filter and order_by mini-languages: parsing per endpoint vocabulary, error messages, LIKE matching
/// and clause evaluation.
@Suite struct SearchFilterTests {
    typealias Clause = SearchFilter.Clause

    func parse(_ text: String?, _ vocabulary: FilterVocabulary = .registeredModels) throws -> [Clause] {
        try SearchFilter(parsing: text, vocabulary: vocabulary).clauses
    }

    /// The message parsing fails with; records an issue when parsing succeeds or the code is not invalidArgument.
    func failure(_ text: String, _ vocabulary: FilterVocabulary = .registeredModels) -> String? {
        let error = #expect(throws: RegistryError.self) { try SearchFilter(parsing: text, vocabulary: vocabulary) }
        #expect(error?.code == .invalidArgument)
        return error?.message
    }

    func orderFailure(_ entries: [String], allowed: [String: String]) -> String? {
        let error = #expect(throws: RegistryError.self) {
            try SearchOrder(parsing: entries, allowed: allowed, entity: "registered model")
        }
        #expect(error?.code == .invalidArgument)
        return error?.message
    }

    func clause(
        _ operand: SearchFilter.Operand,
        _ comparator: SearchFilter.Comparator,
        _ value: SearchFilter.Value
    )
        -> Clause
    {
        Clause(operand: operand, comparator: comparator, value: value)
    }

    static let modelOrder = [
        "name": "name", "attributes.name": "name", "timestamp": "last_updated_timestamp",
        "last_updated_timestamp": "last_updated_timestamp",
    ]

    // MARK: Tests — happy paths

    @Test(arguments: [nil, "", "   ", " \n\t "])
    func missingOrBlankFilterHasNoClauses(_ text: String?) throws {
        // Given / When a missing or blank filter is parsed / Then it has no clauses
        #expect(try parse(text).isEmpty)
        #expect(try parse(text, .runs).isEmpty)
    }

    @Test func registeredModelFiltersTheClientSends() throws {
        // Given / When the filters MLflow's client sends for registered models / Then each gives one clause
        #expect(try parse("name='my-model'") == [clause(.attribute("name"), .equal, .string("my-model"))])
        #expect(try parse("name LIKE 'resnet%'") == [clause(.attribute("name"), .like, .string("resnet%"))])
        #expect(try parse("name ILIKE '%NET%'") == [clause(.attribute("name"), .ilike, .string("%NET%"))])
        #expect(try parse("tags.team = 'vision'") == [clause(.tag("team"), .equal, .string("vision"))])
        #expect(try parse("name != \"double\"") == [clause(.attribute("name"), .notEqual, .string("double"))])
        #expect(try parse("name IN ('a', 'b')") == [clause(.attribute("name"), .in_, .list(["a", "b"]))])
    }

    @Test func identifiersMayBePrefixedQuotedAndDotted() throws {
        // Given / When identifiers in their different spellings / Then they name the same operands
        #expect(try parse("attributes.name = 'm'") == [clause(.attribute("name"), .equal, .string("m"))])
        #expect(try parse("attribute.name = 'm'") == [clause(.attribute("name"), .equal, .string("m"))])
        #expect(try parse("tag.team = 'v'") == [clause(.tag("team"), .equal, .string("v"))])
        #expect(try parse("tags.`my key` = 'v'") == [clause(.tag("my key"), .equal, .string("v"))])
        #expect(try parse("tags.\"key with spaces\" = 'v'") == [clause(.tag("key with spaces"), .equal, .string("v"))])
        #expect(
            try parse("tags.mlflow.source.type='LOCAL'")
                == [clause(.tag("mlflow.source.type"), .equal, .string("LOCAL"))]
        )
        #expect(try parse("tags.`a=b` != ''") == [clause(.tag("a=b"), .notEqual, .string(""))])
    }

    @Test func keywordsAreCaseInsensitiveAndWhitespaceIsFree() throws {
        // Given a filter with lower-case keywords, no spaces around symbols and extra spaces elsewhere
        let clauses = try parse("  name like 'a%'   and\ttags.t ilike \"B\"  AnD name not   in ('x')\n")
        // Then it parses as with upper-case keywords
        #expect(
            clauses == [
                clause(.attribute("name"), .like, .string("a%")),
                clause(.tag("t"), .ilike, .string("B")),
                clause(.attribute("name"), .notIn, .list(["x"])),
            ]
        )
    }

    @Test func stringValuesKeepTheirContentVerbatim() throws {
        // Given / When values with the other quote, operators, keywords and non-ASCII text / Then they are kept as is
        #expect(try parse("name = \"it's\"") == [clause(.attribute("name"), .equal, .string("it's"))])
        #expect(try parse("name = 'a AND b OR c'") == [clause(.attribute("name"), .equal, .string("a AND b OR c"))])
        #expect(try parse("tags.t = 'x >= (y)'") == [clause(.tag("t"), .equal, .string("x >= (y)"))])
        #expect(try parse("name = 'modèle-日本'") == [clause(.attribute("name"), .equal, .string("modèle-日本"))])
    }

    @Test func modelVersionFilters() throws {
        let v = FilterVocabulary.modelVersions
        // Given / When the model-version filters MLflow sends / Then they parse with canonical attribute names
        #expect(try parse("run_id = 'abc'", v) == [clause(.attribute("run_id"), .equal, .string("abc"))])
        #expect(try parse("run_id IN ('a','b')", v) == [clause(.attribute("run_id"), .in_, .list(["a", "b"]))])
        #expect(
            try parse("source_path = 'mlflow-artifacts:/1/x'", v)
                == [clause(.attribute("source_path"), .equal, .string("mlflow-artifacts:/1/x"))]
        )
        #expect(try parse("source = 's3://b/k'", v) == [clause(.attribute("source_path"), .equal, .string("s3://b/k"))])
        #expect(try parse("version_number > 2", v) == [clause(.attribute("version_number"), .greater, .number(2))])
        #expect(try parse("version_number = '3'", v) == [clause(.attribute("version_number"), .equal, .number(3))])
        #expect(
            try parse("name='m' AND version_number<=-1.5e2", v)
                == [
                    clause(.attribute("name"), .equal, .string("m")),
                    clause(.attribute("version_number"), .lessOrEqual, .number(-150)),
                ]
        )
        #expect(try parse("tags.stage = 'prod'", v) == [clause(.tag("stage"), .equal, .string("prod"))])
    }

    @Test func runFilters() throws {
        let v = FilterVocabulary.runs
        // Given / When run filters with metrics, params, tags and attributes / Then each is typed by its prefix
        #expect(
            try parse("metrics.acc >= 0.9 and params.lr = '0.1'", v)
                == [
                    clause(.metric("acc"), .greaterOrEqual, .number(0.9)),
                    clause(.param("lr"), .equal, .string("0.1")),
                ]
        )
        #expect(try parse("metric.loss < .5", v) == [clause(.metric("loss"), .less, .number(0.5))])
        #expect(try parse("param.opt != 'sgd'", v) == [clause(.param("opt"), .notEqual, .string("sgd"))])
        #expect(
            try parse("attributes.status = 'FINISHED'", v) == [
                clause(.attribute("status"), .equal, .string("FINISHED"))
            ]
        )
        #expect(
            try parse("start_time > 1700000000000", v)
                == [clause(.attribute("start_time"), .greater, .number(1_700_000_000_000))]
        )
        #expect(try parse("run_name LIKE 'exp-%'", v) == [clause(.attribute("run_name"), .like, .string("exp-%"))])
        #expect(
            try parse("user_id IN ('a', \"b\")", v) == [clause(.attribute("user_id"), .in_, .list(["a", "b"]))]
        )
        #expect(
            try parse("metrics.`val loss` <= +1E-3", v) == [clause(.metric("val loss"), .lessOrEqual, .number(0.001))]
        )
    }

    @Test func loggedModelFilters() throws {
        // Given a filter over every kind of logged-model operand
        let clauses = try parse(
            "name = 'm' AND creation_timestamp >= 1 AND metrics.acc > 0.5 AND params.p = '1' AND tags.t = 'x' "
                + "AND source_run_id = 'r' AND last_updated_timestamp != 7",
            .loggedModels
        )
        // Then every clause is typed
        #expect(
            clauses == [
                clause(.attribute("name"), .equal, .string("m")),
                clause(.attribute("creation_timestamp"), .greaterOrEqual, .number(1)),
                clause(.metric("acc"), .greater, .number(0.5)),
                clause(.param("p"), .equal, .string("1")),
                clause(.tag("t"), .equal, .string("x")),
                clause(.attribute("source_run_id"), .equal, .string("r")),
                clause(.attribute("last_updated_timestamp"), .notEqual, .number(7)),
            ]
        )
    }

    @Test func limitsAreInclusive() throws {
        // Given exactly 50 clauses, and a filter of exactly 4096 bytes
        let fifty = Array(repeating: "name = 'x'", count: 50).joined(separator: " AND ")
        let long = "name = '" + String(repeating: "a", count: 4096 - 9) + "'"
        // Then both are accepted
        #expect(try parse(fifty).count == 50)
        #expect(long.utf8.count == 4096)
        #expect(try parse(long).count == 1)
    }

    // MARK: Tests — errors

    @Test func unknownAttributesListWhatIsAccepted() {
        // Given / When unknown fields / Then the message names the field and the vocabulary
        #expect(
            failure("foo = 'x'")
                == "invalid filter: unknown attribute 'foo' for registered model search: expected name or tags.<key>"
        )
        #expect(
            failure("attributes.foo = 'x'")
                == "invalid filter: unknown attribute 'foo' for registered model search: expected name or tags.<key>"
        )
        #expect(
            failure("foo.bar = 'x'")
                == "invalid filter: unknown field 'foo.bar' for registered model search: expected name or tags.<key>"
        )
        #expect(
            failure("status = 'x'", .modelVersions)
                == "invalid filter: unknown attribute 'status' for model version search: "
                + "expected name, run_id, source_path, version_number or tags.<key>"
        )
        #expect(
            failure("experiment_id = '1'", .runs)
                == "invalid filter: unknown attribute 'experiment_id' for run search: expected artifact_uri, end_time, "
                + "run_id, run_name, start_time, status, user_id, tags.<key>, params.<key> or metrics.<key>"
        )
    }

    @Test func prefixesTheVocabularyDoesNotHaveAreRejected() {
        // Given a vocabulary without tags, and the registered-model one without params and metrics
        let widgets = FilterVocabulary(
            attributes: ["name": .string],
            tags: false,
            params: false,
            metrics: false,
            entity: "widget"
        )
        // When / Then
        #expect(
            failure("tags.team = 'v'", widgets)
                == "invalid filter: tags are not supported for widget search: expected name"
        )
        #expect(
            failure("params.lr = '0.1'")
                == "invalid filter: params are not supported for registered model search: expected name or tags.<key>"
        )
        #expect(
            failure("metrics.acc > 1", .modelVersions)?.hasPrefix(
                "invalid filter: metrics are not supported for model version search: expected name"
            ) == true
        )
    }

    @Test func operatorsMustFitTheOperandKind() {
        #expect(
            failure("name > 'a'")
                == "invalid filter: operator '>' is not supported for 'name': expected =, !=, LIKE, ILIKE, IN, NOT IN"
        )
        #expect(
            failure("tags.t IN ('a')")
                == "invalid filter: operator 'IN' is not supported for 'tags.t': expected =, !=, LIKE, ILIKE"
        )
        #expect(
            failure("version_number LIKE '3'", .modelVersions)
                == "invalid filter: operator 'LIKE' is not supported for 'version_number': expected =, !=, <, <=, >, >="
        )
        #expect(
            failure("metrics.acc NOT IN ('1')", .runs)
                == "invalid filter: operator 'NOT IN' is not supported for 'metrics.acc': expected =, !=, <, <=, >, >="
        )
        #expect(
            failure("params.p >= '1'", .runs)
                == "invalid filter: operator '>=' is not supported for 'params.p': expected =, !=, LIKE, ILIKE"
        )
    }

    @Test func unknownOrMissingOperators() {
        let expected = "expected =, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN"
        #expect(failure("name == 'x'") == "invalid filter: unknown operator '==' after 'name': \(expected)")
        #expect(failure("name is 'x'") == "invalid filter: expected an operator after 'name', found 'is': \(expected)")
        #expect(
            failure("name")
                == "invalid filter: expected an operator after 'name', found the end of the filter: \(expected)"
        )
        #expect(
            failure("name NOT LIKE 'x'")
                == "invalid filter: expected IN after NOT, found 'LIKE': NOT IN is the only negated operator"
        )
        #expect(failure("= 'x'") == "invalid filter: expected a field name at '=': expected name or tags.<key>")
    }

    @Test func stringValuesMustBeQuoted() {
        #expect(
            failure("name = my-model")
                == "invalid filter: value my-model for 'name' is not quoted: "
                + "expected a string in single or double quotes, such as 'my-model'"
        )
        #expect(
            failure("tags.t = 3")
                == "invalid filter: value 3 for 'tags.t' is not quoted: "
                + "expected a string in single or double quotes, such as '3'"
        )
        #expect(
            failure("name =")
                == "invalid filter: missing value for 'name' at the end of the filter: "
                + "expected a string in single or double quotes"
        )
    }

    @Test func numberValuesMustBeNumbers() {
        #expect(
            failure("version_number > abc", .modelVersions)
                == "invalid filter: value 'abc' for 'version_number' is not a number: "
                + "expected a number such as 3, -1.5 or 2e-3"
        )
        #expect(
            failure("version_number = 'three'", .modelVersions)
                == "invalid filter: value 'three' for 'version_number' is not a number: expected a number such as 3"
        )
        #expect(
            failure("metrics.acc > '0.9'", .runs)
                == "invalid filter: value '0.9' for 'metrics.acc' is quoted: expected a number without quotes"
        )
        #expect(
            failure("start_time > '1'", .runs)
                == "invalid filter: value '1' for 'start_time' is quoted: expected a number without quotes"
        )
        for bad in ["1.2.3", "1e", "-", ".", "1e999", "0x10", "nan", "inf", "1_000"] {
            #expect(failure("metrics.acc > \(bad)", .runs)?.contains("is not a number") == true, "\(bad)")
        }
    }

    @Test func unterminatedQuotesNameTheQuote() {
        #expect(
            failure("name = 'resnet")
                == "invalid filter: unterminated quote at 'resnet: expected a closing single quote"
        )
        #expect(
            failure("name = \"resnet")
                == "invalid filter: unterminated quote at \"resnet: expected a closing double quote"
        )
        #expect(
            failure("tags.`my key = 'v'")
                == "invalid filter: unterminated quote at `my key = 'v': expected a closing backtick"
        )
    }

    @Test func onlyAndJoinsClauses() {
        #expect(
            failure("name = 'a' OR name = 'b'")
                == "invalid filter: 'OR' is not supported: only AND is supported to join clauses"
        )
        #expect(
            failure("name = 'a' or name = 'b'")
                == "invalid filter: 'or' is not supported: only AND is supported to join clauses"
        )
        #expect(failure("name = 'a' AND") == "invalid filter: the filter ends with 'AND': expected a clause after it")
        #expect(failure("name = 'a' and  ") == "invalid filter: the filter ends with 'and': expected a clause after it")
    }

    @Test func trailingGarbageIsRejected() {
        #expect(
            failure("name = 'a' extra")
                == "invalid filter: unexpected 'extra' after 'name = 'a'': expected AND and another clause, "
                + "or the end of the filter"
        )
        #expect(failure("name = 'a')")?.hasPrefix("invalid filter: unexpected ')' after 'name = 'a''") == true)
        #expect(failure("name = 'a' 'b'")?.hasPrefix("invalid filter: unexpected ''b'' after") == true)
        #expect(failure("(name = 'a')")?.hasPrefix("invalid filter: expected a field name at '(name'") == true)
    }

    @Test func inListsNeedParenthesesAndItems() {
        let v = FilterVocabulary.modelVersions
        #expect(
            failure("run_id IN ()", v)
                == "invalid filter: empty IN list for 'run_id': expected one or more quoted strings, such as ('a', 'b')"
        )
        #expect(
            failure("run_id NOT IN ( )", v)
                == "invalid filter: empty NOT IN list for 'run_id': "
                + "expected one or more quoted strings, such as ('a', 'b')"
        )
        #expect(
            failure("run_id IN 'a'", v)
                == "invalid filter: expected '(' after IN for 'run_id', found ''a'': expected a list such as ('a', 'b')"
        )
        #expect(
            failure("run_id IN ('a' 'b')", v)
                == "invalid filter: expected ',' or ')' in the IN list for 'run_id', found ''b')'"
        )
        #expect(
            failure("run_id IN ('a', b)", v)?.hasPrefix("invalid filter: value b for 'run_id' is not quoted") == true
        )
        #expect(
            failure("run_id IN ('a',)", v)
                == "invalid filter: missing value for 'run_id' at ')': expected a string in single or double quotes"
        )
        #expect(
            failure("run_id IN ('a'", v)
                == "invalid filter: expected ',' or ')' in the IN list for 'run_id', found the end of the filter"
        )
    }

    @Test func keysMustNotBeEmpty() {
        #expect(
            failure("tags. = 'x'")
                == "invalid filter: missing key after 'tags.': expected tags.<key> or tags.`<key>`"
        )
        #expect(failure("tags.`` = 'x'") == "invalid filter: empty key after 'tags.': expected tags.<key>")
    }

    @Test func tooManyClausesOrTooLong() {
        // Given 51 clauses, and 4097 bytes
        let many = Array(repeating: "name = 'x'", count: 51).joined(separator: " AND ")
        let long = "name = '" + String(repeating: "a", count: 4096 - 8) + "'"
        // Then both are rejected with the limit
        #expect(failure(many) == "invalid filter: it has more than 50 clauses: at most 50 are accepted")
        #expect(failure(long) == "invalid filter: it is 4097 bytes long: at most 4096 are accepted")
    }

    @Test func messagesEscapeControlCharactersAndShortenInput() throws {
        // Given garbage with a control character, and a long unknown attribute
        let control = try #require(failure("name = 'a' \u{7}junk"))
        let long = try #require(failure(String(repeating: "x", count: 300) + " = 'a'"))
        // Then the message shows the escape, not the raw character, and at most 80 characters of the input
        #expect(!control.contains("\u{7}"))
        #expect(control.contains("\\u{07}junk"))
        #expect(long.contains(String(repeating: "x", count: 80) + "…'"))
        #expect(!long.contains(String(repeating: "x", count: 81)))
    }

    // MARK: Tests — LIKE

    @Test(arguments: [
        ("resnet50", "resnet%", true),
        ("my-resnet", "resnet%", false),
        ("resnet50", "%50", true),
        ("resnet50x", "%50", false),
        ("resnet50", "%net%", true),
        ("resnet50", "resnet50", true),
        ("resnet50", "resnet5", false),
        ("abc", "a_c", true),
        ("abbc", "a_c", false),
        ("ac", "a_c", false),
        ("abc", "___", true),
        ("abc", "__", false),
        ("", "%", true),
        ("", "", true),
        ("a", "", false),
        ("", "_", false),
        ("abc", "%%%", true),
        ("abcabd", "%ab_", true),
        ("aXbXc", "a%b%c", true),
        ("x.y", "x.y", true),
        ("xzy", "x.y", false),
        ("ab", "a*b", false),
        ("a*b", "a*b", true),
        ("a[b]c", "a[b]c", true),
        ("a\\b", "a\\b", true),
        ("日本語", "日_語", true),
        ("ResNet", "resnet", false),
        ("ResNet", "ResNet", true),
    ])
    func likeIsCaseSensitiveAndAnchored(_ value: String, _ pattern: String, _ expected: Bool) {
        // Given / When a value and a LIKE pattern / Then it matches only as SQL would
        #expect(SearchFilter.likeMatches(value, pattern: pattern, caseSensitive: true) == expected)
    }

    @Test func ilikeIgnoresCase() {
        #expect(SearchFilter.likeMatches("ResNet50", pattern: "%NET%", caseSensitive: false))
        #expect(SearchFilter.likeMatches("ÉCOLE", pattern: "%école", caseSensitive: false))
        #expect(!SearchFilter.likeMatches("ResNet50", pattern: "%NET%", caseSensitive: true))
        #expect(!SearchFilter.likeMatches("ResNet50", pattern: "net%", caseSensitive: false))
    }

    @Test func pathologicalPatternsFinishQuickly() {
        // Given 5000 'a's and patterns that make backtracking matchers explode
        let value = String(repeating: "a", count: 5000)
        let clock = ContinuousClock()
        // When they are matched
        let elapsed = clock.measure {
            #expect(!SearchFilter.likeMatches(value, pattern: "%a%a%a%a%a%a%a%a%b", caseSensitive: true))
            #expect(!SearchFilter.likeMatches(value, pattern: "%a%a%a%a%a%a%a%a%b", caseSensitive: false))
            #expect(SearchFilter.likeMatches(value, pattern: String(repeating: "%a", count: 40), caseSensitive: true))
            #expect(!SearchFilter.likeMatches(value, pattern: String(repeating: "_", count: 4999), caseSensitive: true))
        }
        // Then it takes well under a second
        #expect(elapsed < .seconds(1))
    }

    // MARK: Tests — matches

    @Test func stringComparators() {
        let name = SearchFilter.Operand.attribute("name")
        #expect(SearchFilter.matches(clause(name, .equal, .string("a")), .string("a")))
        #expect(!SearchFilter.matches(clause(name, .equal, .string("a")), .string("A")))
        #expect(SearchFilter.matches(clause(name, .notEqual, .string("a")), .string("b")))
        #expect(!SearchFilter.matches(clause(name, .notEqual, .string("a")), .string("a")))
        #expect(SearchFilter.matches(clause(name, .like, .string("re%")), .string("resnet")))
        #expect(!SearchFilter.matches(clause(name, .like, .string("RE%")), .string("resnet")))
        #expect(SearchFilter.matches(clause(name, .ilike, .string("RE%")), .string("resnet")))
        #expect(SearchFilter.matches(clause(name, .in_, .list(["a", "b"])), .string("b")))
        #expect(!SearchFilter.matches(clause(name, .in_, .list(["a", "b"])), .string("c")))
        #expect(SearchFilter.matches(clause(name, .notIn, .list(["a", "b"])), .string("c")))
        #expect(!SearchFilter.matches(clause(name, .notIn, .list(["a", "b"])), .string("a")))
        // Equality is by bytes: a precomposed é is not its decomposed spelling
        #expect(!SearchFilter.matches(clause(name, .equal, .string("caf\u{E9}")), .string("cafe\u{301}")))
    }

    @Test func numberComparators() {
        let acc = SearchFilter.Operand.metric("acc")
        let cases: [(SearchFilter.Comparator, Double, [Bool])] = [
            // value compared with 0.5 for actual values 0.4, 0.5, 0.6
            (.equal, 0.5, [false, true, false]),
            (.notEqual, 0.5, [true, false, true]),
            (.less, 0.5, [true, false, false]),
            (.lessOrEqual, 0.5, [true, true, false]),
            (.greater, 0.5, [false, false, true]),
            (.greaterOrEqual, 0.5, [false, true, true]),
        ]
        for (comparator, bound, expected) in cases {
            let actual = [0.4, 0.5, 0.6].map {
                SearchFilter.matches(clause(acc, comparator, .number(bound)), .number($0))
            }
            #expect(actual == expected, "\(comparator.rawValue)")
        }
    }

    @Test func missingValuesMatchOnlyNegations() {
        // Given an entity without the tag / param / metric
        let failing = [
            clause(.tag("t"), .equal, .string("a")),
            clause(.tag("t"), .like, .string("%")),
            clause(.param("p"), .ilike, .string("%")),
            clause(.attribute("run_id"), .in_, .list(["a"])),
            clause(.metric("m"), .notEqual, .number(1)),
            clause(.metric("m"), .less, .number(1)),
        ]
        let holding = [
            clause(.tag("mlflow.prompt.is_prompt"), .notEqual, .string("true")),
            clause(.param("p"), .notEqual, .string("a")),
            clause(.attribute("run_id"), .notIn, .list(["a"])),
        ]
        // Then only != and NOT IN on tags, params and attributes hold (what the MLflow client's prompt filter needs)
        for clause in failing { #expect(!SearchFilter.matches(clause, nil), "\(clause)") }
        for clause in holding { #expect(SearchFilter.matches(clause, nil), "\(clause)") }
    }

    @Test func mismatchedValueKindsDoNotMatch() {
        #expect(!SearchFilter.matches(clause(.metric("m"), .equal, .number(3)), .string("3")))
        #expect(!SearchFilter.matches(clause(.tag("t"), .equal, .string("3")), .number(3)))
        #expect(!SearchFilter.matches(clause(.attribute("run_id"), .in_, .list(["3"])), .number(3)))
    }

    @Test func parsedFiltersEvaluateAgainstAnEntity() throws {
        // Given a parsed model-version filter and two versions
        let filter = try SearchFilter(
            parsing: "name ILIKE 'res%' AND version_number >= '2' AND tags.stage != 'archived'",
            vocabulary: .modelVersions
        )
        func values(version: Double, stage: String?) -> (SearchFilter.Operand) -> FilterOperandValue? {
            { operand in
                switch operand {
                case .attribute("name"): .string("ResNet")
                case .attribute("version_number"): .number(version)
                case .tag("stage"): stage.map(FilterOperandValue.string)
                default: nil
                }
            }
        }
        // When / Then only the version that satisfies every clause matches
        #expect(filter.matches(values(version: 3, stage: "prod")))
        #expect(!filter.matches(values(version: 1, stage: "prod")))
        #expect(!filter.matches(values(version: 3, stage: "archived")))
        #expect(filter.matches(values(version: 3, stage: nil)))
        #expect(try SearchFilter(parsing: nil, vocabulary: .modelVersions).matches { _ in nil })
    }

    // MARK: Tests — order_by

    @Test func orderByDefaultsToAscending() throws {
        // Given / When entries with and without a direction, in any case and spacing
        let order = try SearchOrder(
            parsing: ["name ASC", "last_updated_timestamp DESC", "timestamp", "  attributes.name   desc ", "name Asc"],
            allowed: Self.modelOrder,
            entity: "registered model"
        )
        // Then fields are canonical and the default is ascending
        #expect(
            order.keys == [
                .init(field: "name", ascending: true),
                .init(field: "last_updated_timestamp", ascending: false),
                .init(field: "last_updated_timestamp", ascending: true),
                .init(field: "name", ascending: false),
                .init(field: "name", ascending: true),
            ]
        )
        #expect(try SearchOrder(parsing: [], allowed: Self.modelOrder, entity: "registered model").keys.isEmpty)
    }

    @Test func orderByPrefixSpellingsTakeAnyKey() throws {
        // Given metrics.* and tags.* spellings
        let allowed = ["start_time": "start_time", "metrics.*": "metrics.", "metric.*": "metrics.", "tags.*": "tags."]
        // When entries name keys bare and quoted
        let order = try SearchOrder(
            parsing: ["metrics.acc DESC", "metric.`val loss`", "tags.\"a b\" asc", "start_time"],
            allowed: allowed,
            entity: "run"
        )
        // Then the key follows the canonical prefix
        #expect(order.keys.map(\.field) == ["metrics.acc", "metrics.val loss", "tags.a b", "start_time"])
        #expect(order.keys.map(\.ascending) == [false, true, true, true])
    }

    @Test func orderByErrorsListTheFields() {
        let fields = "attributes.name, last_updated_timestamp, name, timestamp"
        let expected = "for registered model search: expected '<field> [ASC|DESC]' with field one of \(fields)"
        #expect(
            orderFailure(["name sideways"], allowed: Self.modelOrder) == "invalid order_by 'name sideways' \(expected)"
        )
        #expect(orderFailure(["version"], allowed: Self.modelOrder) == "invalid order_by 'version' \(expected)")
        #expect(
            orderFailure(["name DESC extra"], allowed: Self.modelOrder)
                == "invalid order_by 'name DESC extra' \(expected)"
        )
        #expect(orderFailure(["name", "  "], allowed: Self.modelOrder) == "invalid order_by '  ' \(expected)")
        #expect(orderFailure(["DESC"], allowed: Self.modelOrder) == "invalid order_by 'DESC' \(expected)")
        #expect(orderFailure(["Name"], allowed: Self.modelOrder) == "invalid order_by 'Name' \(expected)")
        #expect(
            orderFailure(["name ASC DESC"], allowed: Self.modelOrder) == "invalid order_by 'name ASC DESC' \(expected)"
        )
    }

    @Test func orderByPrefixKeysMustBeWellFormed() {
        let allowed = ["metrics.*": "metrics."]
        let expected = "for registered model search: expected '<field> [ASC|DESC]' with field one of metrics.<key>"
        #expect(orderFailure(["metrics."], allowed: allowed) == "invalid order_by 'metrics.' \(expected)")
        #expect(orderFailure(["metrics.a b"], allowed: allowed) == "invalid order_by 'metrics.a b' \(expected)")
        #expect(orderFailure(["metrics.``"], allowed: allowed) == "invalid order_by 'metrics.``' \(expected)")
        #expect(orderFailure(["metrics.`a"], allowed: allowed) == "invalid order_by 'metrics.`a' \(expected)")
    }
}
