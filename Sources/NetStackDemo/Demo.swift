public import NetStackWire
public import NetStackCore

/// Settings of one demo run.
public struct DemoOptions: Sendable {
    /// Seeds all randomness (initial sequence numbers, DNS ids, ports, the
    /// cables' random loss): the same seed gives the same run, byte for byte.
    public var seed: UInt64 = 1
    /// How much is told.
    public var verbosity: Verbosity = .normal
    /// The language of the narration, headings and outcomes (tables stay as Linux prints them).
    public var language: DemoLanguage = .english
    /// ANSI colours (only when printing to a terminal).
    public var color = false
    /// Wrap the narration to this many columns (a terminal's width), each
    /// event's text continuing under itself; nil prints one line per event.
    public var width: Int?
    /// Extra probability that any frame is lost, on every cable and in both
    /// directions, in `0...maximumLoss`. The demo's own fault (one corrupted
    /// frame, one lost datagram) happens as well.
    public var loss: Double = 0
    /// The MSS the hosts announce, in `mssRange`: the MTU of every link becomes MSS + 40.
    /// With `ipv6`, in `mssRange6`, and the MTU becomes MSS + 60 (the default 1460 then
    /// stands for Ethernet's MTU: MSS 1440).
    public var mss = 1460
    /// Tell the same journey over IPv6 alone (`--ipv6`): the network's IPv6 addresses, an
    /// AAAA query to the DNS server's IPv6 address, TCP and UDP over IPv6, and neighbour
    /// discovery where the IPv4 story has ARP.
    public var ipv6 = false
    /// Also build the interactive HTML page of the run (`DemoResult.html`, what `--html` writes).
    public var html = false
    /// Called between steps (for `--step`: wait for Enter); nil runs straight through.
    public var pause: (@Sendable () -> Void)?

    /// The largest `loss` accepted: beyond it, a run would mostly show timeouts.
    public static let maximumLoss = 0.5
    /// The MSS values accepted: 536 (what every IPv4 host must accept, RFC 9293
    /// §3.7.1, and the smallest this stack announces) to 1460 (Ethernet's MTU 1500 − 40).
    public static let mssRange = 536...1460
    /// The MSS values accepted with `ipv6`: 1220 (every IPv6 link carries 1,280 bytes,
    /// RFC 8200 §5) to 1440 (Ethernet's MTU 1500 − 60).
    public static let mssRange6 = 1220...1440

    /// The defaults: seed 1, normal narration in English, no colour, no extra loss, MSS 1460.
    public init() {}
}

/// What a demo run did, for the caller and for tests.
public struct DemoResult: Sendable {
    /// The frames on the browser's cable as `tcpdump` on the browser would
    /// record them — all it sent, all the hub repeated to it but the frames its
    /// adapter dropped — as a classic pcap file (what `--pcap` writes).
    public var capture: [UInt8] = []
    /// Every frame on every cable, once per cable it crossed, in time order (what `--pcap-all` writes).
    public var networkCapture: [UInt8] = []
    /// The run as one self-contained HTML page, when `DemoOptions.html` asked for it (what `--html` writes):
    /// its frame list is `capture`'s frames, one by one.
    public var html: [UInt8] = []
    /// The descriptor `socket()` gave the browser.
    public var descriptor: Int32?
    /// What the resolver found for the web server's name (IPv4 runs; nil with `ipv6`).
    public var resolvedAddress: IPv4Address?
    /// What the resolver found for the web server's name, of either family.
    public var resolvedIPAddress: IPAddress?
    /// Whether a second lookup of the name was answered from the resolver's cache.
    public var secondLookupFromCache = false
    /// The MSS each side announced in its SYN or SYN-ACK.
    public var announcedMSS: (browser: Int?, server: Int?) = (nil, nil)
    /// The data bytes in each full segment toward the browser (the MSS less the TCP options).
    public var segmentSize: Int?
    /// The page the web server served.
    public var pageServed: [UInt8] = []
    /// What the browser received as the response body.
    public var pageReceived: [UInt8] = []
    /// SHA-256 of the page served, in hex.
    public var pageServedSHA256 = ""
    /// SHA-256 of the body received, in hex.
    public var pageReceivedSHA256 = ""
    /// The HTTP status the browser got.
    public var httpStatus: Int?
    /// Frames dropped by FCS checks (adapters and the switch).
    public var fcsDrops = 0
    /// Sequence numbers (relative) of the web server's data segments that never
    /// reached the browser's TCP — lost or damaged on a cable.
    public var segmentsLost: [Int] = []
    /// Retransmissions the web server sent (relative sequence numbers, whether fast retransmit).
    public var retransmissions: [(seq: Int, fast: Bool)] = []
    /// Retransmissions as the server's TCP counted them when the page was done.
    public var serverRetransmissionCount = 0
    /// Duplicate ACKs the browser sent.
    public var duplicateAcks = 0
    /// Window updates the browser sent (same ACK, a larger window after its application read).
    public var windowUpdates = 0
    /// ACKs with a zero window the browser sent.
    public var zeroWindows = 0
    /// Whether the browser, which closes first, was seen in TIME_WAIT.
    public var timeWaitOnCloser = false
    /// The browser's `netstat` at that moment.
    public var closerNetstat = ""
    /// What `bind` of the TIME_WAIT socket's address and port (without
    /// SO_REUSEADDR) answered; nil means it succeeded.
    public var reuseBindError: NetError?
    /// What `connect` to the same peer (after SO_REUSEADDR and bind) answered; nil means it succeeded.
    public var reuseConnectError: NetError?
    /// The UDP step's datagrams, numbered from 1.
    public var udpSent: [Int] = []
    /// The numbers of the datagrams whose echo came back, in arrival order.
    public var udpEchoed: [Int] = []
    /// The number of the datagram the demo dropped on a cable.
    public var udpDropped: Int?
    /// Datagrams the browser's UDP sent in that step: as many as `send()` calls unless something was sent again.
    public var udpDatagramsSentByStack = 0
    /// The bytes whose line signal is drawn: preamble, SFD, the SYN frame's first bytes.
    public var signalBytes: [UInt8] = []
    /// The bytes decoded back from the Manchester-coded signal of `signalBytes`.
    public var signalDecoded: [UInt8] = []
    /// The SYN frame's first bytes as the capture holds them.
    public var signalFrameStart: [UInt8] = []
    /// ARP requests sent by all hosts.
    public var arpRequests = 0
    /// Neighbour solicitations sent by all hosts (duplicate address detection's among them).
    public var ndpSolicitations = 0
    /// Frames each device sent, in device order.
    public var framesSent: [(device: String, frames: Int)] = []
    /// The ladder diagram of the browser's connection, in full.
    public var ladder: LadderDiagram?
    /// Steps that did not complete within their simulated time, one line each (empty when all did).
    public var problems: [String] = []

    /// Whether the page arrived whole: the body received equals the body served.
    public var pageIntact: Bool { !pageServed.isEmpty && pageReceived == pageServed }
}

/// The chapter's journey on the two-LAN network, run on the real stack and narrated.
public enum Demo {
    /// Runs the story, writing the narration line by line to `output`. Takes
    /// a fraction of a second of real time; simulated time is bounded per step.
    public static func run(_ options: DemoOptions, output: @escaping (String) -> Void) -> DemoResult {
        DemoRun(options, output: output).run()
    }
}
