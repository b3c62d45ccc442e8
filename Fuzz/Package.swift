// swift-tools-version: 6.1
// Fuzzers for NetStack's parsers, kept out of the main package so that its
// `swift build` and `swift test` never link libFuzzer. Build and run them with
// `Fuzz/run.sh [SECONDS_PER_TARGET]`, which passes `-sanitize=fuzzer,address`.
import PackageDescription

/// One executable per parser; each `main.swift` hands libFuzzer a callback.
let fuzzers = [
    "FuzzEthernet", "FuzzARP", "FuzzIPv4", "FuzzICMPv4", "FuzzUDP", "FuzzTCP", "FuzzDNS", "FuzzPcap", "FuzzDHCP",
    "FuzzIPv6", "FuzzICMPv6", "FuzzNDP", "FuzzMLD", "FuzzIPv6Address",
]

/// Fuzzers of the runtime's own protocols (they link NetStackRuntime too).
let runtimeFuzzers = ["FuzzControl"]
/// Fuzzers of the stack and its services, which drive a `Host` or a parser of NetStackServices.
let stackFuzzers = ["FuzzStack", "FuzzResolver", "FuzzHTTPRequest", "FuzzHTTPResponse"]

let package = Package(
    name: "NetStackFuzz",
    dependencies: [
        .package(name: "NetStack", path: ".."),
    ],
    targets: [
        // Header-only: declares LLVMFuzzerRunDriver, which the libFuzzer runtime defines.
        .target(name: "CLibFuzzer"),
        // The driver call and the result sink every fuzzer shares.
        .target(
            name: "FuzzSupport",
            dependencies: ["CLibFuzzer", .product(name: "NetStackWire", package: "NetStack")]
        ),
    ] + fuzzers.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", .product(name: "NetStackWire", package: "NetStack")]
        )
    } + stackFuzzers.map { name in
        .executableTarget(
            name: name,
            dependencies: [
                "FuzzSupport",
                .product(name: "NetStackWire", package: "NetStack"),
                .product(name: "NetStackCore", package: "NetStack"),
                .product(name: "NetStackServices", package: "NetStack"),
            ]
        )
    } + runtimeFuzzers.map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", .product(name: "NetStackRuntime", package: "NetStack")]
        )
    },
    swiftLanguageModes: [.v6]
)
