// A TCP echo server on a TAP device, written against NetStack's async sockets.
//
//   sudo ip tuntap add dev tap0 mode tap && sudo ip addr add 192.0.2.1/24 dev tap0 && sudo ip link set tap0 up
//   sudo swift run EchoOnTAP tap0 192.0.2.2      # then: nc 192.0.2.2 7
import Glibc
import NetStackCore
import NetStackWire
import NetStackRuntime

let arguments = CommandLine.arguments
guard arguments.count == 3, let address = IPv4Address(arguments[2]) else {
    print("usage: EchoOnTAP TAP-DEVICE ADDRESS   (e.g. EchoOnTAP tap0 192.0.2.2)")
    exit(64)
}

do {
    // The stack's own address on the TAP's link; ARP, IP and TCP run in this process.
    let configuration = RuntimeConfiguration(device: .named(arguments[1], kind: .tap),
                                             address: address, prefixLength: 24)
    let runtime = try StackRuntime(configuration)
    runtime.runInBackground()  // the stack's loop gets a thread of its own

    let listener = try await runtime.listen(port: 7)
    print("echoing on \(address):7")
    while true {
        let stream = try await listener.accept()
        Task {
            // What arrives goes back, until the peer closes its side; then we close ours.
            do {
                for try await bytes in stream.inbound { try await stream.write(bytes) }
            } catch {
                print("\(stream.remote): \(error)")
            }
            await stream.close()
        }
    }
} catch {
    print("EchoOnTAP: \(error)")
    exit(1)
}
