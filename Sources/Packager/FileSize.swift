import Foundation

/// The size of a file, with the error every inspector and the packager give when it cannot be read.
enum FileSize {
    /// The size in bytes of the file at `url`.
    ///
    /// - Throws: ``PackagerError`` `notFound` naming the path when it does not exist or cannot be examined.
    static func of(_ url: URL) throws -> Int64 {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            return (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw PackagerError.notFound("cannot open \(url.path): \(error.localizedDescription)")
        }
    }
}
