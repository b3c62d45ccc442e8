// A minimal tun2socks: every TCP connection and UDP flow that arrives on a TUN
// descriptor — whatever its destination — is terminated by NetStack and relayed
// through a SOCKS5 proxy. The descriptor is adopted, the way a VPN app gets one
// from its platform (Android's VpnService) or a parent process.
//
//   MiniTun2Socks FD ADDRESS/PREFIX PROXY-ADDRESS:PORT   (e.g. 3 198.51.100.1/24 192.0.2.1:1080)
import Glibc
import NetStackCore
import NetStackWire
import NetStackRuntime

let arguments = CommandLine.arguments
guard arguments.count == 4, let fd = Int32(arguments[1]),
      case let address = arguments[2].split(separator: "/"), address.count == 2,
      let ip = IPv4Address(String(address[0])), let prefix = Int(address[1]),
      case let proxy = arguments[3].split(separator: ":"), proxy.count == 2,
      let proxyIP = IPv4Address(String(proxy[0])), let proxyPort = UInt16(proxy[1]) else {
    print("usage: MiniTun2Socks FD ADDRESS/PREFIX PROXY-ADDRESS:PORT")
    exit(64)
}

do {
    // The runtime takes the descriptor over (and closes it when done).
    let configuration = RuntimeConfiguration(device: .adopted(fd: fd, kind: .tun), address: ip, prefixLength: prefix)
    let runtime = try StackRuntime(configuration)
    var relay = TunnelRelayConfig()
    relay.socks5 = Socks5Proxy(endpoint: Endpoint(proxyIP, proxyPort))
    // The relay puts the TUN's interface in any-destination mode and offers each flow
    // to the proxy before completing the client's handshake.
    let program = try runtime.withHost { host, _ throws(NetError) in
        try TunnelRelay(host: host, interface: runtime.interface, config: relay)
    }
    runtime.start(program)
    print("relaying every flow on fd \(fd) through socks5 \(arguments[3])")
    try runtime.run()  // until SIGINT/SIGTERM: flows are closed with FIN
} catch {
    print("MiniTun2Socks: \(error)")
    exit(1)
}
