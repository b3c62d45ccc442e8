import Glibc

/// Something the server can send as a response body: its length and type, and
/// a way to read any part of it into a buffer the server owns — so a large
/// file goes out a buffer at a time, never whole in memory.
public struct HTTPResource {
    /// Body length in bytes (the Content-Length).
    public var length: Int
    /// The Content-Type.
    public var contentType: String
    /// Reads up to `buffer.count` bytes starting at byte `offset` into `buffer`;
    /// returns how many it read, 0 when it cannot (end of data, I/O error).
    public var read: (Int, UnsafeMutableRawBufferPointer) -> Int

    /// A resource of `length` bytes of `contentType` that `read` supplies.
    public init(length: Int, contentType: String, read: @escaping (Int, UnsafeMutableRawBufferPointer) -> Int) {
        self.length = length
        self.contentType = contentType
        self.read = read
    }

    /// A resource over bytes in memory (an error page, a test file).
    public init(bytes: [UInt8], contentType: String) {
        self.init(length: bytes.count, contentType: contentType) { offset, buffer in
            guard offset >= 0, offset < bytes.count else { return 0 }
            let count = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
            return count
        }
    }
}

/// What a server serves: a resource for each path it knows.
public protocol HTTPContent: AnyObject {
    /// The resource at `path` — already percent-decoded and normalized by the
    /// server (`/` or `/a/b`, never a `..` segment) — or nil when there is none.
    func resource(at path: String) -> HTTPResource?
}

/// Content-Type by file extension: the common few, else `application/octet-stream`.
public enum MediaType {
    /// The media type for a path's extension (case-insensitive).
    public static func forPath(_ path: String) -> String {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "application/octet-stream" }
        return switch path[path.index(after: dot)...].lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "txt", "text": "text/plain; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "json": "application/json"
        case "xml": "application/xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "gif": "image/gif"
        case "svg": "image/svg+xml"
        case "ico": "image/x-icon"
        case "webp": "image/webp"
        case "pdf": "application/pdf"
        case "wasm": "application/wasm"
        case "zip": "application/zip"
        case "gz": "application/gzip"
        case "mp4": "video/mp4"
        default: "application/octet-stream"
        }
    }
}

/// Files in memory, keyed by path (`/index.html`); `/` serves `/index.html` when present.
public final class InMemoryContent: HTTPContent {
    /// The files, by path with a leading `/`.
    public var files: [String: [UInt8]]

    /// Serves `files`; a key without a leading `/` gets one.
    public init(_ files: [String: [UInt8]]) {
        var normalized: [String: [UInt8]] = [:]
        for (path, bytes) in files { normalized[path.hasPrefix("/") ? path : "/" + path] = bytes }
        self.files = normalized
    }

    public func resource(at path: String) -> HTTPResource? {
        let key = path == "/" ? "/index.html" : path
        guard let bytes = files[key] else { return nil }
        return HTTPResource(bytes: bytes, contentType: MediaType.forPath(key))
    }
}

/// Regular files under a root directory, read with `pread` a buffer at a time.
///
/// The root is opened once; each request walks its path one component at a
/// time with `openat(O_NOFOLLOW)`, so no symbolic link is followed — not even
/// one that points inside the root — and no path can leave it. (The server
/// already refuses `..`.) Directories answer with their `index.html` if they
/// have one; devices, FIFOs and sockets are never served. Open descriptors are
/// closed when the response releases its resource.
public final class DirectoryContent: HTTPContent {
    /// The root directory as given.
    public let root: String
    private let rootDescriptor: Int32

    /// Opens `root`; throws the `errno` when it is not a directory that can be read.
    public init(root: String) throws(DirectoryContentError) {
        let fd = Self.retrying { Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw DirectoryContentError(path: root, errno: errno) }
        self.root = root
        rootDescriptor = fd
    }

    deinit { Glibc.close(rootDescriptor) }

    public func resource(at path: String) -> HTTPResource? {
        var components = path.split(separator: "/", omittingEmptySubsequences: true)
        // The server never passes these, but a direct caller might: `..` would climb, NUL would cut the C string.
        guard !components.contains(where: { $0 == ".." || $0 == "." || $0.utf8.contains(0) }) else { return nil }
        guard var file = openBeneath(components) else { return nil }
        if file.isDirectory {
            components.append("index.html")
            guard let index = openBeneath(components), !index.isDirectory else { return nil }
            file = index
        }
        guard file.isRegular else { return nil }
        let handle = FileHandle(file.descriptor)
        return HTTPResource(length: file.size, contentType: MediaType.forPath(String(components.last ?? ""))) { offset, buffer in
            handle.read(at: offset, into: buffer)
        }
    }

    private struct OpenedFile {
        var descriptor: Int32
        var isDirectory: Bool
        var isRegular: Bool
        var size: Int
    }

    /// Walks `components` from the root with `openat`, refusing symbolic links at every step.
    private func openBeneath(_ components: [Substring]) -> OpenedFile? {
        var current = Self.retrying { openat(rootDescriptor, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard current >= 0 else { return nil }
        for (index, component) in components.enumerated() {
            let last = index == components.count - 1
            // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused by fstat below).
            let flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | (last ? 0 : O_DIRECTORY)
            let next = Self.retrying { openat(current, String(component), flags) }
            Glibc.close(current)
            guard next >= 0 else { return nil }
            current = next
        }
        var info = stat()
        guard fstat(current, &info) == 0 else {
            Glibc.close(current)
            return nil
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFDIR else {
            Glibc.close(current)
            return nil
        }
        if kind == S_IFDIR {
            Glibc.close(current)
            return OpenedFile(descriptor: -1, isDirectory: true, isRegular: false, size: 0)
        }
        return OpenedFile(descriptor: current, isDirectory: false, isRegular: true, size: Int(info.st_size))
    }

    private static func retrying(_ call: () -> Int32) -> Int32 {
        var result = call()
        var attempts = 0
        while result < 0 && errno == EINTR && attempts < 100 {
            result = call()
            attempts += 1
        }
        return result
    }
}

/// An open file that a response reads from; closed when the last reference goes.
private final class FileHandle {
    let descriptor: Int32

    init(_ descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// pread(2), retried on EINTR; 0 on error or end of file.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        for _ in 0..<100 {
            let count = pread(descriptor, base, buffer.count, off_t(offset))
            if count >= 0 { return count }
            if errno != EINTR { return 0 }
        }
        return 0
    }
}

/// A content root that could not be opened.
public struct DirectoryContentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path given.
    public var path: String
    /// The `errno` from open(2).
    public var errno: Int32

    public var description: String {
        "cannot open directory \(path): \(String(cString: strerror(errno)))"
    }
}
