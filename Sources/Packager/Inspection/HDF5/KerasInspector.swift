import CHDF5
public import Foundation

/// Reads an HDF5 file with libhdf5 and, when it is a Keras model (`model.save("model.h5")`), what Keras wrote into it.
///
/// The file is opened read-only. The root group's string attributes `keras_version`, `backend` and `model_config`
/// (variable- or fixed-length, as Keras 2 and Keras 3 write them) are read, and `model_config`'s JSON gives the model's
/// class, name, layer count and inputs (see ``KerasModelInfo``). The parameter count is the sum of the element
/// counts of the datasets under `model_weights` (a weights-only file, from `save_weights`, keeps them under the
/// root); only dataspace sizes are read, never weight data, so memory stays small whatever the file's size.
///
/// An HDF5 file without Keras's attributes is reported as plain HDF5 (the Keras fields `nil`), not refused. A Keras 3
/// `.keras` archive is a zip, not HDF5, and is refused here like any other non-HDF5 file.
///
/// libhdf5 is not thread-safe in its serial build: calls from every thread are serialised by a process-wide lock.
public struct KerasInspector: Sendable {
    /// Largest fixed-length string attribute read (`model_config` of very large models stays far below this).
    public static let maxAttributeBytes = 64 << 20
    /// Most datasets counted under `model_weights` before the file is refused as implausible.
    public static let maxWeightDatasets = 1_000_000

    /// Creates an inspector; it holds no state.
    public init() {}

    /// - Throws: ``PackagerError`` `notFound` when the file does not exist, `invalidArgument` when it is not HDF5,
    ///   is truncated or damaged, or holds a Keras `model_config` that is not JSON; each message names the file.
    public func inspect(_ url: URL) throws -> KerasModelInfo {
        let name = url.lastPathComponent
        let size = try FileSize.of(url)
        return try HDF5Library.serialised { try read(url, name: name, size: size) }
    }

    // MARK: Reading, with the lock held

    private func read(_ url: URL, name: String, size: Int64) throws -> KerasModelInfo {
        guard H5Fis_hdf5(url.path) > 0 else {
            let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
            if (try? FormatDetector.readPrefix(of: url, count: 8)) == signature {
                throw PackagerError.invalid(
                    "\(name) is a damaged or truncated HDF5 file: its superblock cannot be read (\(HDF5Library.lastError()))"
                )
            }
            throw PackagerError.invalid("\(name) is not an HDF5 file: it has no HDF5 signature")
        }
        let access = H5Pcreate(chdf5_p_file_access())
        guard access >= 0 else { throw PackagerError.io("libhdf5 cannot create a file access property list") }
        defer { H5Pclose(access) }
        // Closing the file closes whatever is still open in it, so an early exit leaks nothing.
        H5Pset_fclose_degree(access, H5F_CLOSE_STRONG)
        let file = H5Fopen(url.path, chdf5_f_acc_rdonly(), access)
        guard file >= 0 else {
            throw PackagerError.invalid("\(name) is a damaged or truncated HDF5 file (\(HDF5Library.lastError()))")
        }
        defer { H5Fclose(file) }

        var info = KerasModelInfo(fileSize: size)
        info.kerasVersion = try readStringAttribute("keras_version", of: file, in: name)
        info.backend = try readStringAttribute("backend", of: file, in: name)
        if let json = try readStringAttribute("model_config", of: file, in: name) {
            let config: KerasModelConfig
            do {
                config = try KerasModelConfig(json: json)
            } catch {
                throw PackagerError.invalid(
                    "\(name): the root attribute 'model_config' is not a Keras model config (a JSON object): \(error)"
                )
            }
            info.className = config.className
            info.modelName = config.modelName
            info.layerCount = config.layerCount
            info.inputs = config.inputs
        }

        if H5Lexists(file, "model_weights", chdf5_p_default()) > 0 {
            info.parameterCount = try countElements(under: "model_weights", of: file, in: name)
        } else if info.kerasVersion != nil {
            info.parameterCount = try countElements(under: "/", of: file, in: name)
        }
        return info
    }

    /// A scalar string attribute of the root group, or `nil` when there is none (or it is not a single string).
    private func readStringAttribute(_ attribute: String, of file: hid_t, in name: String) throws -> String? {
        let exists = H5Aexists(file, attribute)
        guard exists >= 0 else {
            throw PackagerError.invalid(
                "\(name): cannot read the root attribute '\(attribute)' (\(HDF5Library.lastError()))"
            )
        }
        guard exists > 0 else { return nil }
        let failure = { (what: String) in
            PackagerError.invalid(
                "\(name): cannot read the root attribute '\(attribute)': \(what) (\(HDF5Library.lastError()))"
            )
        }
        let handle = H5Aopen(file, attribute, chdf5_p_default())
        guard handle >= 0 else { throw failure("it cannot be opened") }
        defer { H5Aclose(handle) }
        let type = H5Aget_type(handle)
        guard type >= 0 else { throw failure("its type cannot be read") }
        defer { H5Tclose(type) }
        let space = H5Aget_space(handle)
        guard space >= 0 else { throw failure("its dataspace cannot be read") }
        defer { H5Sclose(space) }
        guard H5Tget_class(type) == H5T_STRING, H5Sget_simple_extent_npoints(space) == 1 else { return nil }

        if H5Tis_variable_str(type) > 0 {
            let memoryType = H5Tcopy(chdf5_t_c_s1())
            guard memoryType >= 0 else { throw failure("libhdf5 cannot copy a string type") }
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, chdf5_t_variable())
            H5Tset_cset(memoryType, H5Tget_cset(type))
            var pointer: UnsafeMutablePointer<CChar>?
            guard H5Aread(handle, memoryType, &pointer) >= 0 else { throw failure("its value cannot be read") }
            defer { H5free_memory(pointer) }
            return pointer.map { String(cString: $0) } ?? ""
        }

        // A fixed-length string: read its bytes as stored, then drop the padding.
        let length = H5Tget_size(type)
        guard length > 0, length <= Self.maxAttributeBytes else {
            throw failure("its length of \(length) bytes is out of range")
        }
        var bytes = [UInt8](repeating: 0, count: length)
        guard H5Aread(handle, type, &bytes) >= 0 else { throw failure("its value cannot be read") }
        if let end = bytes.firstIndex(of: 0) { bytes.removeSubrange(end...) }
        if H5Tget_strpad(type) == H5T_STR_SPACEPAD {
            while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The sum of the element counts of the datasets at or under `path`, read from their dataspaces.
    private func countElements(under path: String, of file: hid_t, in name: String) throws -> Int64 {
        let object = H5Oopen(file, path, chdf5_p_default())
        guard object >= 0 else {
            throw PackagerError.invalid("\(name): cannot open '\(path)' (\(HDF5Library.lastError()))")
        }
        defer { H5Oclose(object) }
        var count = ElementCount()
        let status = withUnsafeMutablePointer(to: &count) { pointer in
            H5Ovisit2(
                object,
                H5_INDEX_NAME,
                H5_ITER_INC,
                { location, objectName, objectInfo, data in
                    guard let objectName, let objectInfo, let data else { return -1 }
                    guard objectInfo.pointee.type == H5O_TYPE_DATASET else { return 0 }
                    let count = data.assumingMemoryBound(to: ElementCount.self)
                    count.pointee.datasets += 1
                    guard count.pointee.datasets <= KerasInspector.maxWeightDatasets else { return 1 }
                    let dataset = H5Dopen2(location, objectName, chdf5_p_default())
                    guard dataset >= 0 else { return -1 }
                    defer { H5Dclose(dataset) }
                    let space = H5Dget_space(dataset)
                    guard space >= 0 else { return -1 }
                    defer { H5Sclose(space) }
                    let points = H5Sget_simple_extent_npoints(space)
                    guard points >= 0 else { return -1 }
                    count.pointee.elements = count.pointee.elements.addingReportingOverflow(points).partialValue
                    return 0
                },
                pointer,
                chdf5_o_info_basic()
            )
        }
        guard status >= 0 else {
            throw PackagerError.invalid(
                "\(name): cannot read the datasets under '\(path)' (\(HDF5Library.lastError()))"
            )
        }
        guard count.datasets <= Self.maxWeightDatasets else {
            throw PackagerError.invalid(
                "\(name): more than \(Self.maxWeightDatasets) datasets under '\(path)'; refusing to count them"
            )
        }
        return count.elements
    }

    private struct ElementCount {
        var datasets = 0
        var elements: Int64 = 0
    }
}
