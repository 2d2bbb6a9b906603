import ArgumentParser
import Registry

/// A reference to a model version on the command line.
///
/// Forms: `NAME` (its latest version), `NAME:VERSION`, `NAME@ALIAS`, `NAME/STAGE` (stage names case-insensitive),
/// and the MLflow forms `models:/NAME/VERSION`, `models:/NAME@ALIAS`, `models:/NAME/STAGE`. Names, aliases and
/// stages are checked with the registry's own rules, so a typo is a usage error before anything is sent.
enum ModelReference: Equatable, CustomStringConvertible {
    case latest(model: String)
    case version(model: String, number: Int)
    case alias(model: String, alias: String)
    case stage(model: String, stage: Stage)

    var model: String {
        switch self {
        case .latest(let model), .version(let model, _), .alias(let model, _), .stage(let model, _): model
        }
    }

    var description: String {
        switch self {
        case .latest(let model): model
        case .version(let model, let number): "\(model):\(number)"
        case .alias(let model, let alias): "\(model)@\(alias)"
        case .stage(let model, let stage): "\(model)/\(stage.rawValue)"
        }
    }

    static let forms =
        "NAME, NAME:VERSION, NAME@ALIAS, NAME/STAGE or models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/STAGE"

    init(parsing text: String) throws {
        func invalid(_ reason: String) -> ValidationError {
            ValidationError(
                "invalid model reference '\(Validation.printable(text))': \(reason); expected \(Self.forms)"
            )
        }
        func checked(_ name: String) throws -> String {
            do {
                try Validation.modelName(name)
            } catch {
                throw invalid(error.message)
            }
            return name
        }
        var body = Substring(text)
        let mlflow = body.hasPrefix("models:/")
        if mlflow { body = body.dropFirst("models:/".count) }
        if let at = body.firstIndex(of: "@") {
            let alias = String(body[body.index(after: at)...])
            do {
                try Validation.alias(alias)
            } catch {
                throw invalid(error.message)
            }
            self = .alias(model: try checked(String(body[..<at])), alias: alias)
        } else if let slash = body.firstIndex(of: "/") {
            let name = try checked(String(body[..<slash]))
            let rest = String(body[body.index(after: slash)...])
            if mlflow, let number = Int(rest) {
                guard number >= 1 else { throw invalid("versions are numbered from 1") }
                self = .version(model: name, number: number)
            } else {
                do {
                    self = .stage(model: name, stage: try Stage(parsing: rest))
                } catch {
                    throw invalid(error.message)
                }
            }
        } else if !mlflow, let colon = body.firstIndex(of: ":") {
            let name = try checked(String(body[..<colon]))
            guard let number = Int(body[body.index(after: colon)...]), number >= 1 else {
                throw invalid("the version after ':' must be a number from 1")
            }
            self = .version(model: name, number: number)
        } else if mlflow {
            throw invalid("an MLflow reference names a version, alias or stage")
        } else {
            self = .latest(model: try checked(String(body)))
        }
    }
}
