// swift-tools-version: 6.1
// Three small programs that use NetStack as a library (built by scripts/test.sh):
//   EchoOnTAP      a TCP echo server on a TAP device (root; the device must exist)
//   TwoLANTest     a deterministic test of an app on a simulated two-LAN network (no root)
//   MiniTun2Socks  every flow of an adopted TUN descriptor relayed through a SOCKS5 proxy
import PackageDescription

let package = Package(
    name: "NetStackExamples",
    dependencies: [
        // A real program says `.package(url: "<NetStack's repository>", from: "…")`.
        .package(name: "NetStack", path: ".."),
    ],
    targets: [
        .executableTarget(name: "EchoOnTAP", dependencies: [
            .product(name: "NetStackWire", package: "NetStack"),
            .product(name: "NetStackCore", package: "NetStack"),
            .product(name: "NetStackRuntime", package: "NetStack"),
        ]),
        .executableTarget(name: "TwoLANTest", dependencies: [
            .product(name: "NetStackWire", package: "NetStack"),
            .product(name: "NetStackCore", package: "NetStack"),
            .product(name: "NetStackSimulator", package: "NetStack"),
        ]),
        .executableTarget(name: "MiniTun2Socks", dependencies: [
            .product(name: "NetStackWire", package: "NetStack"),
            .product(name: "NetStackCore", package: "NetStack"),
            .product(name: "NetStackRuntime", package: "NetStack"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
