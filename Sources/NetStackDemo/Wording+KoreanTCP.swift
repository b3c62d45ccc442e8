// TCP 이야기꾼(TCPStoryteller.swift)의 한국어 문구.

extension Wording {
    static func koreanTCP(_ kind: PhraseKind) -> Wording? {
        switch kind {
        case .tcpState:
            Wording("상태 변화", { a in
                let meaning = switch a[0] {
                case "SYN_SENT": "서버의 SYN-ACK을 기다린다"
                case "SYN_RECV": "대기 중인 소켓 아래의 반쯤 열린 연결 — 핸드셰이크의 마지막 ACK을 기다린다"
                case "ESTABLISHED": "양쪽이 서로의 시퀀스 번호, 윈도우, MSS를 알게 되었다: 이제 데이터를 주고받을 수 있다"
                case "FIN_WAIT1": "close()가 호출되어 FIN을 보냈고, 그 ACK을 기다린다"
                case "FIN_WAIT2": "보낸 FIN에 ACK이 왔다: 상대의 FIN을 기다린다"
                case "CLOSE_WAIT": "상대가 자기 쪽을 닫았다: 이 애플리케이션도 닫을 때까지 recv()는 0(스트림의 끝)을 돌려준다"
                case "LAST_ACK": "상대의 FIN에 이어 자기 FIN도 보냈다: 마지막 ACK을 기다린다"
                case "CLOSING": "양쪽이 동시에 FIN을 보냈다: 자기 FIN의 ACK을 기다린다"
                case "TIME_WAIT": "먼저 닫은 쪽이므로 소켓을 2 × MSL(여기서는 Linux처럼 60초) 동안 남겨 둔다: 상대가 다시 보낸 FIN이 같은 포트를 쓰는 새 소켓에 닿으면 안 되기 때문이다"
                case "LISTEN": "접속을 기다린다"
                default: "연결이 끝나 제어 정보가 삭제되었다"
                }
                return "\(a[1]) ↔ \(a[2]) 상태 \(a[0]): \(meaning)"
            }, brief: { a in "\(a[1]) ↔ \(a[2]): \(a[0])" })
        case .tcpBriefSent:
            Wording({ a in "\(a[0]) \(a[1]) → \(a[2]) seq \(a[3])\(a.isEmpty(4) ? "" : " ack \(a[4])") win \(a[5]) len \(a[6])" })
        case .tcpBriefReceived:
            Wording({ a in "\(a[0]) 포트 \(a[1])에서 seq \(a[2])\(a.isEmpty(3) ? "" : " ack \(a[3])") win \(a[4]) len \(a[5])" })
        case .synOptions:
            Wording({ a in
                let mss = a.isEmpty(0) ? "MSS 없음" : "MSS \(a[0])(링크의 MTU에서 IP 헤더와 TCP 헤더 40바이트를 뺀 값)"
                let scale = a.isEmpty(1) ? "" : a[1] == "0" ? ", 윈도우 스케일 0(윈도우를 늘려 셀 필요가 없다)"
                    : ", 윈도우 스케일 \(a[1])(이후의 윈도우 값은 \(1 << (Int(a[1]) ?? 0))바이트 단위)"
                let extras = [a.flag(2) ? "SACK 허용" : nil, a.flag(3) ? "타임스탬프" : nil].compactMap { $0 }.joined(separator: ", ")
                return mss + scale + (extras.isEmpty ? "" : ", \(extras)")
            })
        case .sentSYN:
            Wording("핸드셰이크 세그먼트", { a in "SYN → \(a[0]): 3-way 핸드셰이크의 첫 세그먼트. 초기 시퀀스 번호 \(a[1])(이제부터는 이 값을 기준으로 seq 0부터 센다), 윈도우 \(a[2])바이트 — 수신 버퍼의 빈 공간 — \(a[3])" },
                    brief: { a in a[4] })
        case .sentSYNACK:
            Wording("핸드셰이크 세그먼트", { a in "SYN-ACK → \(a[0]): 핸드셰이크의 서버 쪽 절반. 자기 초기 시퀀스 번호 \(a[1])(이제부터 seq 0), ACK 번호 \(a[2]) = 브라우저의 초기 시퀀스 번호 + 1(SYN은 1바이트로 센다), 윈도우 \(a[3]), \(a[4])" },
                    brief: { a in a[5] })
        case .sentRequest:
            Wording("데이터 세그먼트", { a in "send(): GET 요청 \(a[0])바이트를 세그먼트 하나에 담아 → \(a[1]): seq \(a[2]) = 첫 바이트의 위치\(a.isEmpty(3) ? "" : ", ack \(a[3])"). MSS보다 작아서 데이터가 더 모이기를 기다릴 수도 있지만(Nagle), 응답을 기다리는 다른 데이터가 없으므로 바로 보낸다\(a.flag(4) ? ". PSH: 쓰인 데이터의 끝이니 곧바로 애플리케이션에 넘겨 달라는 표시" : "")" },
                    brief: { a in a[5] })
        case .sentData:
            Wording("데이터 세그먼트", { a in "데이터 세그먼트 → \(a[0]): 스트림의 \(a[1])–\(a[2])번째 바이트(seq \(a[3]), len \(a[4]))\(a.isEmpty(5) ? "" : ", ack \(a[5])"), 윈도우 \(a[6]). 응답이 MSS보다 크므로 TCP가 세그먼트로 나누고, ACK이 돌아오기 전에 수신 측 윈도우와 혼잡 윈도우가 허락하는 만큼 여러 개를 잇달아 보낸다(슬라이딩 윈도우). 각 세그먼트는 ACK을 받을 때까지 송신 버퍼에 남는다" },
                    brief: { a in a[7] })
        case .sentRetransmission:
            Wording("재전송", { a in
                let why = a.flag(5)
                    ? "중복 ACK이 뒤의 세그먼트는 도착했는데 이 세그먼트만 오지 않았다고 알렸다(빠른 재전송, RFC 5681 §3.2 — SACK 블록이 무엇이 도착했는지 정확히 알려 주었다)"
                    : "재전송 타이머가 끝날 때까지 ACK이 오지 않았다(RTO, RFC 6298)"
                return "재전송 → \(a[0]): \(a[1])–\(a[2])번째 바이트를 다시 보낸다(seq \(a[3]), len \(a[4])). 이유: \(why). 이 바이트는 아직 송신 버퍼에 있었다 — 잃어버린 데이터를 되찾는 것은 TCP뿐이고, 어댑터도 허브도 스위치도 라우터도 아무것도 하지 않았다"
            }, brief: { a in "재전송 \(a[6])" })
        case .windowScaleNote:
            Wording({ a in "(필드 값은 \(a[0]), 윈도우 스케일 옵션에 따라 × 2^\(a[1]))" })
        case .sentHandshakeACK:
            Wording("ACK", { a in "ACK → \(a[0]): ACK 번호 \(a[1]) — 핸드셰이크의 세 번째 세그먼트로 \"SYN을 받았으니 다음에는 \(a[1])번째 바이트를 기다린다\"는 뜻. 윈도우 \(a[2])바이트\(a[3])" },
                    brief: { a in a[4] })
        case .sentACK:
            Wording("ACK", { a in "ACK → \(a[0]): ACK 번호 \(a[1]) — \"\(a[1])번째 바이트 앞까지는 모두 받았으니 다음에는 \(a[1])번째 바이트를 기다린다\", 그리고 윈도우 \(a[2]): 수신 버퍼의 빈 공간\(a[3]). ACK 하나가 여러 세그먼트를 한꺼번에 확인할 수도 있다" },
                    brief: { a in a[4] })
        case .sentBareACK:
            Wording("ACK", { a in "ACK → \(a[0])" }, brief: { a in a[1] })
        case .sentDuplicateACK:
            Wording("중복 ACK", { a in "중복 ACK → \(a[0]): 여전히 ACK 번호 \(a[1]) — 세그먼트 하나가 빠졌다. \(a.isEmpty(2) ? "" : "SACK 옵션이 빈 곳 뒤에서 이미 받은 바이트를 알려 준다: \(a[2]). ")빈 곳 뒤의 바이트는 수신 버퍼에서 기다리고, 빈 곳이 채워질 때까지 애플리케이션은 아무것도 받지 못한다" },
                    brief: { a in "중복 ACK \(a[3])" })
        case .sentWindowUpdate:
            Wording("윈도우 갱신", { a in "윈도우 갱신 → \(a[0]): 같은 ACK 번호 \(a[1]), 윈도우는 이제 \(a[2])바이트. 애플리케이션이 수신 버퍼에서 데이터를 읽어 공간이 생겼으므로 TCP가 윈도우 필드로 송신 측에 알린다" },
                    brief: { a in "윈도우 갱신 \(a[3])" })
        case .sentZeroWindow:
            Wording("윈도우 0 ACK", { a in "ACK → \(a[0]): ACK 번호 \(a[1]), 윈도우 0 — 애플리케이션이 아직 읽지 않아 수신 버퍼가 가득 찼다. 송신 측은 멈추고 윈도우 갱신을 기다려야 한다" },
                    brief: { a in "윈도우 0 \(a[2])" })
        case .sentProbe:
            Wording("윈도우 프로브", { a in "윈도우 프로브 → \(a[0]): 윈도우가 한동안 0이었다. 오래된 시퀀스 번호를 보내면 수신 측이 현재 윈도우로 답한다(RFC 9293 §3.8.6.1)" },
                    brief: { a in "프로브 \(a[1])" })
        case .sentFINBrowser:
            Wording("FIN", { a in "FIN → \(a[0]): seq \(a[1]), ack \(a[2]) — close()가 호출되었다: \"더 보낼 것이 없다\". 소켓은 닫는 중으로 표시된다" },
                    brief: { a in a[3] })
        case .sentFINPeer:
            Wording("FIN", { a in "FIN → \(a[0]): seq \(a[1]), ack \(a[2]) — \(koreanHost(a[3]))의 애플리케이션이 스트림의 끝을 보고 자기 소켓도 닫았다" },
                    brief: { a in a[4] })
        case .sentRST:
            Wording("RST", { a in "RST → \(a[0]): 연결을 거부하거나 끊는다" }, brief: { a in a[1] })
        case .receivedInOrder:
            Wording("순서대로 받은 세그먼트", { a in "\(koreanHost(a[0]))의 TCP: 체크섬 정상, 4-튜플로 소켓을 찾았다. seq \(josa(a[1], "은", "는")) 기다리던 바로 그 바이트: \(a[2])바이트를 순서대로 수신 버퍼에 넣어 애플리케이션의 recv()를 기다린다. 다음에 기다리는 바이트는 \(a[3])" },
                    brief: { a in "순서대로: seq \(a[1]) len \(a[2]), 다음 \(a[3])" })
        case .receivedOutOfOrder:
            Wording("순서가 어긋난 세그먼트", { a in "\(koreanHost(a[0]))의 TCP: seq \(josa(a[1], "이", "가")) 도착했지만 기다리는 것은 \(a[2])번째 바이트 — 세그먼트 하나가 빠졌다. 이 \(a[3])바이트는 수신 버퍼에 따로 두고(애플리케이션에는 넘기지 않는다) ACK 번호 \(a[2])의 ACK을 바로 돌려보낸다" },
                    brief: { a in "순서 어긋남: seq \(a[1]) len \(a[3]), 여전히 \(josa(a[2], "을", "를")) 기다림" })
        case .receivedFillsHole:
            Wording("채워진 빈 곳", { a in "\(koreanHost(a[0]))의 TCP: 재전송된 \(a[1])–\(a[2])번째 바이트가 빈 곳을 채운다. \(a[3])번째 바이트까지 모두 순서가 맞았으므로 한꺼번에 애플리케이션에 넘긴다. 다음에 기다리는 바이트는 \(a[4])" },
                    brief: { a in "seq \(josa(a[5], "이", "가")) 빈 곳을 채움: \(a[3])까지 순서대로" })
        case .receivedDuplicate:
            Wording("중복 세그먼트", { a in "\(koreanHost(a[0]))의 TCP: seq \(a[1]) len \(josa(a[2], "은", "는")) 이미 받은 바이트다. 버리고, ACK으로 기다리는 바이트를 다시 알린다" },
                    brief: { a in "중복 seq \(a[1]) 버림" })
        case .receivedSYN:
            Wording("받은 핸드셰이크 세그먼트", { a in "\(koreanHost(a[0]))의 TCP: 소켓이 대기 중인 포트 \(josa(a[1], "으로", "로")) SYN이 왔다. 프로토콜 스택은 브라우저의 시퀀스 번호, 윈도우, MSS를 새 제어 정보에 기록한다" },
                    brief: { a in a[2] })
        case .receivedSYNACK:
            Wording("받은 핸드셰이크 세그먼트", { a in "\(koreanHost(a[0]))의 TCP: SYN-ACK이 자기 SYN을 확인했다. 서버의 시퀀스 번호, 윈도우, MSS를 기록한다" },
                    brief: { a in a[1] })
        case .receivedFIN:
            Wording("받은 FIN", { a in "\(koreanHost(a[0]))의 TCP: \(a[1])에서 FIN — 상대는 더 보낼 것이 없다. 애플리케이션이 모두 읽고 나면 recv()는 0을 돌려준다" },
                    brief: { a in a[2] })
        case .receivedDuplicateACK:
            Wording("받은 중복 ACK", { a in "\(koreanHost(a[0]))의 TCP: ACK 번호 \(a[2])의 \(a[1])번째 중복 ACK\(a.isEmpty(3) ? "" : "(SACK \(a[3]))"). 뒤의 바이트는 도착하는데 브라우저에 이 바이트가 없다는 뜻이다. 중복 ACK이 세 번 오거나 SACK 블록이 빈 곳 너머 세그먼트 세 개를 덮으면 그 세그먼트는 사라진 것으로 본다(RFC 5681 §3.2, RFC 6675)" },
                    brief: { a in "ACK \(a[2])의 중복 ACK #\(a[1])" })
        case .receivedZeroWindow:
            Wording("받은 ACK", { a in "\(koreanHost(a[0]))의 TCP: 윈도우 0 — 수신 측 버퍼가 가득 찼다. 새 데이터를 보내지 않고 윈도우 갱신을 기다린다(그 갱신을 잃을 때에 대비해 프로브도 보낸다)" },
                    brief: { a in "ACK \(a[1]) win \(a[2])" })
        case .receivedACK:
            Wording("받은 ACK", { a in "\(koreanHost(a[0]))의 TCP: ACK 번호 \(a[1]) — 그 앞의 바이트가 도착했으므로 송신 버퍼에서 지운다(더는 재전송에 대비해 둘 필요가 없다). 윈도우 \(a[2])바이트는 앞으로 ACK 없이 더 보낼 수 있는 양이다" },
                    brief: { a in "ACK \(a[1]) win \(a[2])" })
        case .receivedHandshakeACK:
            Wording("받은 ACK", { a in "\(koreanHost(a[0]))의 TCP: 이 ACK으로 3-way 핸드셰이크가 끝난다" }, brief: { a in a[1] })
        default:
            koreanSteps(kind)
        }
    }
}

/// The demo's host names as a Korean sentence calls them ("browser" → 브라우저);
/// other names as they are. The tags beside each line keep the names themselves.
func koreanHost(_ name: String) -> String {
    switch name {
    case "browser": "브라우저"
    case "server": "서버"
    case "router": "라우터"
    case "laptop": "노트북"
    case "dns": "DNS 서버"
    default: name
    }
}
