import CSystemShims

/// Returns heap memory freed after large transfers to the system, so an idle daemon's footprint does not keep the
/// high-water mark of its last multi-gigabyte upload or download (measured in docs/benchmarks.md).
enum MemoryRelease {
    /// Transfers at least this large release free memory when they end.
    static let threshold: Int64 = 32 << 20

    static func releaseFreeMemory() {
        _ = shims_release_free_memory()
    }
}
