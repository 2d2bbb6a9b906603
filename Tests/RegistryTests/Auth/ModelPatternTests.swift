import Testing

@testable import Registry

/// Model name patterns of role bindings: `*` for any run of characters (including none), everything else literal
/// and case-sensitive.
@Suite struct ModelPatternTests {
    static func pattern(_ text: String) throws -> ModelPattern { try ModelPattern(parsing: text) }

    // MARK: Tests

    @Test func starMatchesEveryModel() throws {
        let all = try Self.pattern("*")
        #expect(all == ModelPattern.all)
        #expect(all.isAll)
        for name in ["a", "resnet", "vision-a", "Vision.B_2", String(repeating: "x", count: 128)] {
            #expect(all.matches(name), "\(name)")
        }
        #expect(try Self.pattern("**").isAll)
        #expect(try !Self.pattern("vision-*").isAll)
    }

    @Test func aPrefixPattern() throws {
        let vision = try Self.pattern("vision-*")
        #expect(vision.matches("vision-a"))
        #expect(vision.matches("vision-resnet-50"))
        #expect(vision.matches("vision-"))
        #expect(!vision.matches("vision"))
        #expect(!vision.matches("avision-a"))
        #expect(!vision.matches("vision_a"))
        #expect(!vision.matches("Vision-a"))
    }

    @Test func aSuffixPattern() throws {
        let prod = try Self.pattern("*-prod")
        #expect(prod.matches("resnet-prod"))
        #expect(prod.matches("-prod"))
        #expect(prod.matches("a-prod-prod"))
        #expect(!prod.matches("resnet-prod2"))
        #expect(!prod.matches("resnet-Prod"))
        #expect(!prod.matches("prod"))
    }

    @Test func severalStarsBacktrack() throws {
        let abc = try Self.pattern("a*b*c")
        for name in ["abc", "aXbYc", "abbc", "abcbc", "a-b-c-c", "aXbYcZc"] {
            #expect(abc.matches(name), "\(name)")
        }
        for name in ["acb", "ab", "bc", "abcx", "xabc", "Abc", "aBc"] {
            #expect(!abc.matches(name), "\(name)")
        }
        #expect(try Self.pattern("*aab").matches("aaab"))
        #expect(try Self.pattern("a*ab").matches("aab"))
        #expect(try !Self.pattern("a*ab").matches("ab"))
        #expect(try Self.pattern("*.*").matches("model.v2"))
        #expect(try !Self.pattern("*.*").matches("model-v2"))
    }

    @Test func manyStarsOnALongNameStayFast() throws {
        // A pattern that would take exponential time with naive backtracking
        let pattern = try Self.pattern("*a*a*a*a*a*a*a*a*b")
        let name = String(repeating: "a", count: 128)
        let start = ContinuousClock.now
        #expect(!pattern.matches(name))
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(pattern.matches(String(name.dropLast()) + "b"))
    }

    @Test func anExactNameMatchesOnlyItself() throws {
        let resnet = try Self.pattern("resnet")
        #expect(resnet.matches("resnet"))
        #expect(!resnet.matches("resnet2"))
        #expect(!resnet.matches("resne"))
        #expect(!resnet.matches("Resnet"))
        #expect(!resnet.matches("RESNET"))
        #expect(!resnet.matches(""))
    }

    @Test func matchingIsCaseSensitive() throws {
        #expect(try !Self.pattern("Vision-*").matches("vision-a"))
        #expect(try Self.pattern("Vision-*").matches("Vision-a"))
        #expect(try !Self.pattern("*-PROD").matches("a-prod"))
    }

    static let invalid = [
        "", "vision/*", "vision?", "[ab]*", "a b", "vision+x", "é*", "a\u{0}b", "$", String(repeating: "a", count: 129),
    ]

    @Test(arguments: invalid)
    func invalidPatternsAre400NamingTheValue(_ text: String) {
        // When an invalid pattern is parsed
        let error = #expect(throws: RegistryError.self) { _ = try ModelPattern(parsing: text) }
        // Then it is invalidArgument naming the value (control characters escaped, long values cut)
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("'\(Validation.printable(text))'") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("vision-*") == true)
    }

    @Test func theLongestValidPatternIs128Characters() throws {
        let text = String(repeating: "a", count: 127) + "*"
        #expect(try Self.pattern(text).matches(String(repeating: "a", count: 200)))
        #expect(try Self.pattern("a.b_c-9*").text == "a.b_c-9*")
    }
}
