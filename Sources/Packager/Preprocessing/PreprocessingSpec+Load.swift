public import Foundation
import Yams

extension PreprocessingSpec {
    /// A checked spec together with the canonical JSON a bundle stores as `preprocessing.json`.
    public struct Document: Sendable, Equatable {
        public var spec: PreprocessingSpec
        /// The spec as JSON with sorted keys and no insignificant whitespace, whatever form it was written in.
        public var json: Data
    }

    /// The largest spec file accepted; a spec is a few hundred bytes.
    public static let maxDocumentBytes = 1 << 20

    /// Reads a JSON or YAML spec file, validates it and returns it with its canonical JSON.
    ///
    /// A `.json` file is read as JSON only. Anything else is read as JSON when it parses as JSON, else as YAML (1.1
    /// scalars, so `yes` is a boolean; a `{…}` flow mapping is YAML too). YAML that JSON cannot express (timestamps,
    /// binary, non-string keys, aliases) is refused, naming the field.
    ///
    /// - Throws: ``PackagerError`` `notFound` if the file does not exist, `invalidArgument` naming the file and the
    ///   field for a malformed or invalid spec.
    public static func load(from url: URL) throws -> Document {
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw PackagerError.notFound(
                "preprocessing spec \(url.path) cannot be opened: \(error.localizedDescription)"
            )
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxDocumentBytes + 1) ?? Data()
        } catch {
            throw PackagerError.io("cannot read preprocessing spec \(url.path)", cause: error)
        }
        guard data.count <= maxDocumentBytes else {
            throw PackagerError.invalid("preprocessing spec \(url.path) is larger than \(maxDocumentBytes) bytes")
        }
        return try document(from: data, name: url.lastPathComponent)
    }

    /// Validates spec text (JSON or YAML) and returns it with its canonical JSON; `name` is used in errors, and a
    /// name ending in `.json` means JSON only.
    ///
    /// - Throws: ``PackagerError`` `invalidArgument` naming `name` and the field.
    public static func document(from data: Data, name: String) throws -> Document {
        guard let text = String(data: data, encoding: .utf8) else {
            throw PackagerError.invalid("preprocessing spec \(name) is not UTF-8 text")
        }
        let object: Any
        let isJSONFile = (name as NSString).pathExtension.lowercased() == "json"
        let looksLikeJSON = isJSONFile || text.first(where: { !$0.isWhitespace }) == "{"
        if looksLikeJSON, let parsed = try? JSONSerialization.jsonObject(with: data) {
            object = parsed
        } else if isJSONFile {
            do {
                object = try JSONSerialization.jsonObject(with: data)
            } catch {
                throw PackagerError.invalid("preprocessing spec \(name) is not valid JSON: \(Self.reason(error))")
            }
        } else {
            // YAML is a superset of JSON's syntax, so a `{…}` document that is not JSON may still be a YAML flow
            // mapping; when neither parses, the JSON error is the more useful one for a file that starts with `{`.
            let root: Node?
            do {
                root = try Yams.compose(yaml: text)
            } catch {
                if looksLikeJSON {
                    var reason = "\(error)"
                    do { _ = try JSONSerialization.jsonObject(with: data) } catch let jsonError {
                        reason = Self.reason(jsonError)
                    }
                    throw PackagerError.invalid("preprocessing spec \(name) is not valid JSON: \(reason)")
                }
                throw PackagerError.invalid("preprocessing spec \(name) is not valid YAML: \(error)")
            }
            guard let root else { throw PackagerError.invalid("preprocessing spec \(name) is empty") }
            object = try jsonCompatible(root, at: "", in: name)
        }
        guard object is [String: Any] else {
            throw PackagerError.invalid("preprocessing spec \(name) must be an object (a mapping of field to value)")
        }
        let json: Data
        do {
            json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw PackagerError.invalid("preprocessing spec \(name) cannot be written as JSON: \(Self.reason(error))")
        }
        do {
            return Document(spec: try parse(json), json: json)
        } catch let error as PackagerError {
            throw PackagerError(error.code, "\(name): \(error.message)")
        }
    }

    /// Converts a composed YAML node into values `JSONSerialization` writes, refusing anything JSON has no form for
    /// (timestamps, binary, non-string keys, aliases).
    private static func jsonCompatible(_ node: Node, at path: String, in name: String) throws -> Any {
        let shown = path.isEmpty ? "." : path
        switch node {
        case .mapping(let mapping):
            var object: [String: Any] = [:]
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let key) = keyNode, tagName(keyNode) == .str else {
                    if case .scalar(let key) = keyNode {
                        let child = path.isEmpty ? key.string : "\(path).\(key.string)"
                        throw PackagerError.invalid(
                            "preprocessing spec \(name): field '\(child)' has a key that is not a string (\(keyNode.tag.rawValue)); quote it"
                        )
                    }
                    throw PackagerError.invalid(
                        "preprocessing spec \(name): a key under '\(shown)' is not a string but a \(keyNode.tag.rawValue)"
                    )
                }
                let child = path.isEmpty ? key.string : "\(path).\(key.string)"
                guard object[key.string] == nil else {
                    throw PackagerError.invalid("preprocessing spec \(name): field '\(child)' is given twice")
                }
                object[key.string] = try jsonCompatible(valueNode, at: child, in: name)
            }
            return object
        case .sequence(let sequence):
            return try sequence.enumerated().map { try jsonCompatible($1, at: "\(path)[\($0)]", in: name) }
        case .scalar(let scalar):
            switch tagName(node) {
            case .str: return scalar.string
            case .null: return NSNull()
            case .bool: if let value = Bool.construct(from: scalar) { return value }
            case .int: if let value = Int.construct(from: scalar) { return value }
            case .float:
                if let value = Double.construct(from: scalar), value.isFinite { return value }
                throw PackagerError.invalid(
                    "preprocessing spec \(name): field '\(shown)' is \(scalar.string): expected a finite number"
                )
            default: break
            }
            throw PackagerError.invalid(
                "preprocessing spec \(name): field '\(shown)' is \(scalar.string) (\(node.tag.rawValue)), which JSON cannot hold; quote it to make it a string"
            )
        case .alias:
            throw PackagerError.invalid(
                "preprocessing spec \(name): field '\(shown)' is a YAML alias; write the value out"
            )
        }
    }

    private static func tagName(_ node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
    }
}
