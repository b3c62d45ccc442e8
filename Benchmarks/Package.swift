// swift-tools-version: 6.1
import PackageDescription

// Benchmarks for NetStack, kept out of the root package so that building or
// testing NetStack never fetches package-benchmark. See README.md.
let package = Package(
    name: "NetStackBenchmarks",
    dependencies: [
        .package(name: "NetStack", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                .product(name: "NetStackWire", package: "NetStack"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "TCPBenchmarks",
            dependencies: [
                .product(name: "NetStackCore", package: "NetStack"),
                .product(name: "NetStackSimulator", package: "NetStack"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TCPBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "ConnectionBenchmarks",
            dependencies: [
                .product(name: "NetStackSimulator", package: "NetStack"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/ConnectionBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
