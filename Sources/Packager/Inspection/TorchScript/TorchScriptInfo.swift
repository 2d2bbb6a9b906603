/// What `modelctl inspect` reports about a TorchScript archive (`torch.jit.save`).
///
/// Paths are relative to the archive's root folder (``rootFolder``) and, for code and extra files, to `code/` and
/// `extra/`.
public struct TorchScriptInfo: Sendable, Equatable, Codable {
    /// The single top-level folder every entry sits in (the module's name, or `archive`).
    public var rootFolder: String
    /// The content of the `version` record (or of `.data/version` when there is no `version`), trimmed: the
    /// serialisation format version (`3`). `nil` when there is neither.
    public var version: String?
    /// The content of the `byteorder` record (`little`), trimmed; `nil` for archives written before it existed.
    public var byteOrder: String?
    /// Whether `constants.pkl` is present.
    public var hasConstants: Bool
    /// Whether `data.pkl` (the pickled module) is present.
    public var hasData: Bool
    /// The Python sources under `code/` (`__torch__/model.py`), sorted.
    public var codeFiles: [String]
    /// Every entry under `code/`, the sources' `.debug_pkl` records included.
    public var codeEntryCount: Int
    /// The number of tensor storages (entries under `data/`).
    public var tensorStorageCount: Int
    /// Their total uncompressed size.
    public var tensorStorageSize: Int64
    /// The files under `extra/` (`_extra_files` of `torch.jit.save`), sorted.
    public var extraFiles: [String]
    /// Every file entry of the archive.
    public var entryCount: Int
    /// The size of the archive in bytes.
    public var fileSize: Int64

    enum CodingKeys: String, CodingKey {
        case version
        case rootFolder = "root_folder"
        case byteOrder = "byte_order"
        case hasConstants = "has_constants"
        case hasData = "has_data"
        case codeFiles = "code_files"
        case codeEntryCount = "code_entry_count"
        case tensorStorageCount = "tensor_storage_count"
        case tensorStorageSize = "tensor_storage_size"
        case extraFiles = "extra_files"
        case entryCount = "entry_count"
        case fileSize = "file_size"
    }

    /// Creates a report.
    public init(
        rootFolder: String,
        version: String?,
        byteOrder: String?,
        hasConstants: Bool,
        hasData: Bool,
        codeFiles: [String],
        codeEntryCount: Int,
        tensorStorageCount: Int,
        tensorStorageSize: Int64,
        extraFiles: [String],
        entryCount: Int,
        fileSize: Int64
    ) {
        self.rootFolder = rootFolder
        self.version = version
        self.byteOrder = byteOrder
        self.hasConstants = hasConstants
        self.hasData = hasData
        self.codeFiles = codeFiles
        self.codeEntryCount = codeEntryCount
        self.tensorStorageCount = tensorStorageCount
        self.tensorStorageSize = tensorStorageSize
        self.extraFiles = extraFiles
        self.entryCount = entryCount
        self.fileSize = fileSize
    }
}
