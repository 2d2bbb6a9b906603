import Foundation

/// Aligned columns for people: a header row, then one row per item, columns separated by two spaces.
struct Table {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    mutating func add(_ row: String...) {
        rows.append(row)
    }

    /// The lines to print; the last column is not padded.
    func lines() -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return all.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            .joined(separator: "  ")
            .trailingSpacesRemoved
        }
    }

    func print() {
        for line in lines() { Terminal.print(line) }
    }
}

extension Units {
    /// `just now`, `42 seconds ago`, `5 minutes ago`, `3 hours ago`, `2 days ago`, then the date.
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(now.timeIntervalSince(date))
        if seconds < 5 { return "just now" }
        if seconds < 60 { return "\(seconds) seconds ago" }
        if seconds < 3600 { return plural(seconds / 60, "minute") + " ago" }
        if seconds < 86_400 { return plural(seconds / 3600, "hour") + " ago" }
        if seconds < 30 * 86_400 { return plural(seconds / 86_400, "day") + " ago" }
        return date.formatted(.iso8601.year().month().day())
    }

    private static func plural(_ count: Int, _ unit: String) -> String {
        count == 1 ? "1 \(unit)" : "\(count) \(unit)s"
    }
}

extension String {
    fileprivate var trailingSpacesRemoved: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
