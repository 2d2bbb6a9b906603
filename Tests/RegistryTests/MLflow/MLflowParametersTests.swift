import Foundation
import Testing

@testable import Registry

/// Query strings of MLflow's GET routes, decoded by hand: the answers must be Foundation's, `+` as a space first.
@Suite struct MLflowParametersTests {
    /// What the registry did before decoding by hand, kept as the reference.
    static func foundation(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    @Test(arguments: [
        "", "resnet", "name%3D%27resnet%27", "a+b", "a%2Bb", "%20", "caf%C3%A9", "%e2%82%ac", "100%", "%", "%4",
        "%zz", "a%2", "ok%41%zz", "x+%2B+y", "%00", "tags.%60k%20y%60", "%%41", "+%",
        "é", "a%3Db%26c",
    ])
    func decodesAsFoundationDoes(_ text: String) {
        #expect(MLflowParameters.formDecoded(Substring(text)) == Self.foundation(Substring(text)))
    }

    @Test func randomComponentsDecodeAsFoundationDoes() {
        // Plain characters (none a hex digit, which would turn a stray % into an escape of a lone byte), +, escapes
        // of whole UTF-8 characters and stray % signs, in any order
        let pieces = [
            "Z", "x", "-", "_", ".", "~", "/", "'", "=", "é", "+", "%", "%2", "%41", "%2B", "%25",
            "%20", "%C3%A9", "%E2%82%AC", "%F0%9F%99%82", "%3d", "%zz",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 0...8, using: &generator))
                .map { _ in pieces.randomElement(using: &generator)! }.joined()
            #expect(MLflowParameters.formDecoded(Substring(text)) == Self.foundation(Substring(text)), "\(text)")
        }
    }

    @Test(arguments: ["%FF", "%C3", "%C3%28", "ok%A9", "%ED%A0%80"])
    func bytesThatAreNotUTF8BecomeReplacementCharacters(_ text: String) {
        let decoded = MLflowParameters.formDecoded(Substring(text))
        #expect(decoded.unicodeScalars.contains("\u{FFFD}"))
        #expect(throws: RegistryError.self) { try Validation.modelName(decoded) }
    }

    @Test func repeatedKeysKeepEveryValueInOrder() {
        let values = MLflowParameters.query("stages=Staging&stages=Production&name=a+b&empty=&flag")
        #expect(values["stages"] == [.string("Staging"), .string("Production")])
        #expect(values["name"] == [.string("a b")])
        #expect(values["empty"] == [.string("")])
        #expect(values["flag"] == [.string("")])
    }
}
