#!/usr/bin/env bash
# NetStack as a dependency, the way another package uses it: by version.
#
# Clones this repository's HEAD (committed work only) into a temporary
# directory, tags it there with a throw-away semantic version (the tag never
# leaves the clone), writes a small consumer package whose Package.swift says
# `.package(url: "file://<clone>", from: "99.0.0")` and whose executable makes
# one real call into every library product, then builds and runs it.
#
# This is what catches `unsafeFlags` (SwiftPM refuses them in a dependency
# named by version), a product that does not build on its own, or public API
# that only works from inside the package. swift-argument-parser resolves for
# the clone exactly as for this checkout (git's URL rewriting to the local
# package mirror), so it needs no network where the root package needs none.
#
#   scripts/consumer-test.sh [COMMIT]     (default: HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."

version=99.0.0
work=$(mktemp -d "${TMPDIR:-/tmp}/netstack-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT

commit=$(git rev-parse --verify "${1:-HEAD}^{commit}")
if [ -z "${1:-}" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "consumer-test: note: uncommitted changes are not tested (the clone takes HEAD, $commit)"
fi
git clone --quiet --no-checkout "$PWD" "$work/netstack"
git -C "$work/netstack" -c advice.detachedHead=false checkout --quiet "$commit"
git -C "$work/netstack" tag "$version" "$commit"
echo "consumer-test: NetStack $commit tagged $version in $work/netstack"

mkdir -p "$work/consumer/Sources/Consumer"
cat > "$work/consumer/Package.swift" <<EOF
// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Consumer",
    dependencies: [
        .package(url: "file://$work/netstack", from: "$version"),
    ],
    targets: [
        .executableTarget(
            name: "Consumer",
            dependencies: [
                .product(name: "NetStackWire", package: "netstack"),
                .product(name: "NetStackCore", package: "netstack"),
                .product(name: "NetStackDevices", package: "netstack"),
                .product(name: "NetStackSimulator", package: "netstack"),
                .product(name: "NetStackServices", package: "netstack"),
                .product(name: "NetStackRuntime", package: "netstack"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
EOF

cat > "$work/consumer/Sources/Consumer/Consumer.swift" <<'EOF'
import NetStackCore
import NetStackDevices
import NetStackRuntime
import NetStackServices
import NetStackSimulator
import NetStackWire

struct Failure: Error, CustomStringConvertible {
    let description: String
}

@main
struct Consumer {
    static func main() throws {
        // NetStackCore: two stacks, each with one adapter and an address.
        func makeNode(_ name: String, _ last: UInt8) -> HostNode {
            var config = HostConfig(name: name)
            config.randomSeed = UInt64(last)
            let host = Host(config)
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last)))
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            return HostNode(host)  // NetStackSimulator: a host as a node of the simulated network
        }
        let client = makeNode("client", 10), server = makeNode("server", 20)

        // NetStackDevices: a hub between them, the client's cable captured.
        let hub = Hub(name: "hub", portCount: 2)
        let simulator = Simulator(seed: 1)
        let tap = simulator.connect(client, 0, hub, 0).startCapture()
        simulator.connect(server, 0, hub, 1)

        // NetStackServices: a TCP echo service on the server.
        server.run(try TCPEchoService(host: server.host, port: 7))

        // The client's BSD-style calls, run on the client's own schedule.
        let message = Array("hello from a package that depends on NetStack".utf8)
        var echoed: [UInt8] = []
        var sent = false
        let fd = client.host.socket(.stream)
        try client.host.connect(fd, to: Endpoint(IPv4Address(192, 0, 2, 20), 7), now: simulator.now)
        client.applications.append { host, now in
            if !sent, (try? host.poll(fd))?.contains(.writable) == true {
                sent = (try? message.withUnsafeBytes { try host.send(fd, $0, now: now) }) == message.count
            }
            var buffer = [UInt8](repeating: 0, count: 1024)
            let n = (try? buffer.withUnsafeMutableBytes { try host.recv(fd, into: $0, now: now) }) ?? 0
            echoed += buffer.prefix(n)
        }
        _ = simulator.run(for: .seconds(1))
        guard echoed == message else { throw Failure(description: "echo: got \(echoed.count) of \(message.count) bytes back") }
        print("consumer: TCP echo across a simulated hub: \(echoed.count) bytes back at \(simulator.now)")

        // NetStackWire: the capture read back, its first frame's Ethernet header parsed.
        let records = try PcapReader.parse(tap.takeBytes())
        guard let first = records.first else { throw Failure(description: "capture: no frames") }
        let header = try first.data.withUnsafeBytes { bytes throws(WireError) in try EthernetHeader.parse(bytes) }
        print("consumer: \(records.count) frames captured; the first: \(header)")

        // NetStackRuntime: what `netstack serve --impair` parses, and the runtime's clock.
        let impairment = try ImpairmentSpec.parse("loss=1%,delay=2ms,seed=7")
        let clock = MonotonicClock()
        print("consumer: runtime impairment loss \(impairment.link.loss), delay \(impairment.link.propagationDelay); "
            + "monotonic clock at \(clock.now())")
    }
}
EOF

# The getting-started article's snippets (Sources/NetStackCore/NetStackCore.docc),
# compiled as a consumer sees the API; not run (the TAP device needs root).
cat > "$work/consumer/Sources/Consumer/GettingStarted.swift" <<'EOF'
import NetStackCore
import NetStackDevices
import NetStackRuntime
import NetStackServices
import NetStackSimulator
import NetStackWire

enum GettingStarted {
    static func makeAHost() -> Host {
        var config = HostConfig(name: "server")
        config.randomSeed = 1
        let host = Host(config)
        let eth0 = host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2)))
        host.assign(IPv4Address(192, 0, 2, 2), prefixLength: 24, to: eth0, now: .zero)
        host.setDefaultGateway(IPv4Address(192, 0, 2, 1), interface: eth0)
        return host
    }

    static func socketCalls(_ host: Host, now: Instant) throws {
        let listener = host.socket(.stream)
        try host.bind(listener, to: Endpoint(.any, 7))
        try host.listen(listener, backlog: 16)
        let (fd, peer) = try host.accept(listener)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = try buffer.withUnsafeMutableBytes { try host.recv(fd, into: $0, now: now) }
        _ = try buffer.withUnsafeBytes { try host.send(fd, UnsafeRawBufferPointer(rebasing: $0[..<n]), now: now) }
        _ = peer
    }

    static func overTAP() async throws {
        var configuration = RuntimeConfiguration(deviceName: "tap0", deviceKind: .tap,
                                                 address: IPv4Address(192, 0, 2, 2), prefixLength: 24)
        configuration.gateway = IPv4Address(192, 0, 2, 1)
        let runtime = try StackRuntime(configuration)
        runtime.runInBackground()

        let listener = try await runtime.listen(port: 7)
        while true {
            let stream = try await listener.accept()
            Task {
                for try await bytes in stream.inbound { try await stream.write(bytes) }
                await stream.close()
            }
        }
    }

    static func simulated() throws {
        func node(_ name: String, _ last: UInt8) -> HostNode {
            let host = Host(HostConfig(name: name))
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last)))
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            return HostNode(host)
        }
        let client = node("client", 10), server = node("server", 20)
        let simulator = Simulator(seed: 1)
        let hub = Hub(name: "hub", portCount: 2)
        simulator.connect(client, 0, hub, 0)
        simulator.connect(server, 0, hub, 1, config: .ideal)
        server.run(try TCPEchoService(host: server.host, port: 7))

        let fd = client.host.socket(.stream)
        try client.host.connect(fd, to: Endpoint(IPv4Address(192, 0, 2, 20), 7), now: simulator.now)
        client.applications.append { host, now in }
        _ = simulator.run(for: .seconds(1))
    }

    static func driveByHand(_ host: Host, frame: [UInt8], eth0: InterfaceID, now: Instant,
                            send: (UnsafeRawBufferPointer) -> Void) -> Instant? {
        _ = host.receive(frame, on: eth0, now: now)
        host.poll(now: now)
        while host.takeFrame(from: eth0, { send($0) }) != nil {}
        return host.nextDeadline()
    }
}
EOF

cd "$work/consumer"
# SwiftPM puts lock files in TMPDIR: keep them in the directory the trap removes.
mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"
echo "consumer-test: swift build (the consumer and NetStack $version, debug)"
if ! swift build 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Write|Linking|Applying|Wrapping)' || true; }; then
    echo "consumer-test: FAILED to build" >&2
    exit 1
fi
grep -q '"version" : "'"$version"'"' Package.resolved || { echo "consumer-test: FAILED: NetStack not resolved at $version" >&2; cat Package.resolved >&2; exit 1; }
"$(swift build --show-bin-path)/Consumer"
echo "consumer-test: passed"
