import Glibc
import NetStackCore
@testable import NetStackRuntime
import NetStackWire
import Testing

@Suite struct PcapFileTests {
    func temporaryPath() -> String { "/tmp/netstack-pcap-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pcap" }

    func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode : 0
    }

    func contents(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }

    func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    @Test func aNewCaptureIsOwnerOnlyWhateverTheUmask() throws {
        let path = temporaryPath()
        defer { unlink(path) }
        let old = umask(0)
        do { _ = try PcapFile(path: path, rawIP: false) }
        umask(old)
        #expect(mode(path) & S_IFMT == S_IFREG && mode(path) & 0o777 == 0o600)
    }

    @Test func anExistingFileIsNotReplacedWithoutOverwrite() throws {
        let path = temporaryPath()
        defer { unlink(path) }
        write(path, "precious")
        #expect { try PcapFile(path: path, rawIP: false) } throws: { error in
            "\(error)".contains("exists") && "\(error)".contains("--pcap-overwrite")
        }
        #expect(contents(path) == Array("precious".utf8))
        // With overwrite it is replaced, and made owner-only.
        do { _ = try PcapFile(path: path, rawIP: false, overwrite: true) }
        #expect(contents(path).count == PcapFile.headerSize && mode(path) & 0o777 == 0o600)
    }

    @Test(arguments: [false, true])
    func aSymbolicLinkIsNeverFollowed(overwrite: Bool) throws {
        let target = temporaryPath()
        let link = temporaryPath()
        defer { unlink(target); unlink(link) }
        write(target, "victim")
        symlink(target, link)
        #expect { try PcapFile(path: link, rawIP: false, overwrite: overwrite) } throws: { error in
            "\(error)".contains("symbolic link")
        }
        #expect(contents(target) == Array("victim".utf8))
        // A dangling link would have been created through, too.
        unlink(target)
        #expect(throws: RuntimeError.self) { try PcapFile(path: link, rawIP: false, overwrite: overwrite) }
        #expect(access(target, F_OK) != 0)
    }

    @Test func overwriteRefusesWhatIsNotARegularFile() throws {
        #expect(throws: RuntimeError.self) { try PcapFile(path: "/dev/null", rawIP: false, overwrite: true) }
    }

    @Test func theCaptureStopsAtItsLimitWithWholeRecords() throws {
        let path = temporaryPath()
        defer { unlink(path) }
        let frame = [UInt8](repeating: 0xAB, count: 100)
        do {
            let file = try PcapFile(path: path, rawIP: false, limit: 1000)
            for index in 0..<50 {
                frame.withUnsafeBytes { file.record($0, now: Instant(nanoseconds: Int64(index) * 1000)) }
            }
            #expect(file.limitReached && file.framesOverLimit == 50 - 8)
        }
        let bytes = contents(path)
        // 24-byte header and eight 116-byte records: 952 ≤ 1000; a ninth would pass it.
        #expect(bytes.count == 24 + 8 * 116)
        #expect(try PcapReader.parse(bytes).count == 8)
    }

    @Test func sizesParseWithBinarySuffixes() {
        #expect(parseByteSize("4096") == 4096)
        #expect(parseByteSize("10M") == 10 << 20)
        #expect(parseByteSize("1G") == 1 << 30)
        #expect(parseByteSize("512k") == 512 << 10)
        for bad in ["", "M", "0", "-1", "1.5M", "10X", "1 M", "99999999999999999999", "9999999999T"] {
            #expect(parseByteSize(bad) == nil, "\(bad)")
        }
    }
}

@Suite struct ControlProtocolTests {
    func answer(_ text: String, ended: Bool = false) -> String {
        ControlProtocol.answer(ControlProtocol.frame(Array(text.utf8), ended: ended)) { "table \($0.rawValue)\n" }
    }

    @Test func everySpellingNamesItsRequest() {
        for request in ControlRequest.allCases {
            for spelling in request.spellings {
                #expect(answer(spelling + "\n") == "table \(request.rawValue)\n")
                #expect(answer(" \t" + spelling + " \r\n") == "table \(request.rawValue)\n")
                #expect(answer(spelling, ended: true) == "table \(request.rawValue)\n")
            }
        }
    }

    @Test func framingWaitsForANewlineUpToTheLimit() {
        #expect(ControlProtocol.frame(Array("rou".utf8), ended: false) == .needMore)
        #expect(ControlProtocol.frame(Array("route\nextra".utf8), ended: false) == .line(Array("route".utf8)))
        #expect(ControlProtocol.frame([UInt8](repeating: 0x61, count: 257), ended: false) == .tooLong)
        #expect(ControlProtocol.frame([UInt8](repeating: 0x61, count: 256), ended: false) == .needMore)
    }

    @Test func unknownRequestsAreOneSanitisedErrorLine() {
        let reply = answer("netstat\u{1b}[2J\u{7}\r\n")
        #expect(reply.hasPrefix("error: unknown request 'netstat?[2J??'"))
        #expect(reply.filter { $0 == "\n" }.count == 1 && !reply.utf8.contains(0x1B))
        #expect(answer("\n").hasPrefix("error: empty request"))
        #expect(answer("", ended: true).hasPrefix("error: empty request"))
    }
}
