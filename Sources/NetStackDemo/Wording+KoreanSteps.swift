// 단계 제목, 호출, 결과, 표, 요약의 한국어 문구 (DemoRun*.swift, Narrator.swift).

extension Wording {
    static func koreanSteps(_ kind: PhraseKind) -> Wording? {
        switch kind {
        case .title:
            Wording({ a in "NetStack 데모 — 장(章)에서 따라간 여정을 시뮬레이션 네트워크에서 실제로 실행한다(시드 \(a[0]))" })
        case .diagramLegend:
            Wording({ _ in "LAN A 192.0.2.0/24: 허브가 모든 프레임을 중계       LAN B 198.51.100.0/24: 스위치가 MAC 주소를 학습\n모든 케이블: FCS가 붙는 100 Mbit/s 이더넷." })
        case .settings:
            Wording({ a in
                let settings = [a.isEmpty(0) ? nil : "모든 케이블이 프레임의 \(josa(a[0], "을", "를")) 무작위로 잃는다",
                                a.isEmpty(1) ? nil : "모든 링크의 MTU가 \(a[1])이므로 MSS는 \(a[2])"].compactMap { $0 }
                return "설정: " + settings.joined(separator: "; ") + "."
            })
        case .powerOnHeading: Wording({ _ in "0. 전원을 켠다" })
        case .powerOnExplanation:
            Wording({ _ in "각 호스트가 자기 IP 주소를 설정한다: 라우팅 테이블에 직접 연결된 경로가 생기고, gratuitous ARP가 LAN에 그 주소를 알린다. ARP 캐시는 비어 있는 상태로 시작한다." })
        case .powerOnEvents:
            Wording({ a in "(호스트들이 자기 주소를 알리는 동안 이벤트 \(a[0])개 — 이야기는 이제부터 시작이다)" })
        case .socketHeading: Wording({ _ in "1. 브라우저가 소켓 라이브러리에 소켓을 요청한다" })
        case .socketExplanation:
            Wording({ _ in "애플리케이션은 프로토콜 스택을 직접 부르지 않고 소켓 라이브러리를 호출한다. socket()은 프로토콜 스택의 소켓 테이블에 제어 정보를 기록할 새 자리를 만들고 디스크립터를 돌려준다 — 애플리케이션은 이후 이 작은 번호로 소켓을 가리킨다." })
        case .callSocket:
            Wording({ a in "fd = socket(AF_INET\(a.flag(1) ? "6" : ""), SOCK_STREAM)  →  \(a[0])   (0, 1, 2는 표준 입력, 표준 출력, 표준 오류)" })
        case .socketRowTitle: Wording({ _ in "소켓 테이블에 새로 생긴 행: 아직 프로토콜 말고는 아무것도 채워지지 않았다" })
        case .callReceiveBuffer:
            Wording({ a in "setsockopt(\(a[0]), SO_RCVBUF, \(a[1]))  →  0   (수신 버퍼를 작게 잡아, 알리는 윈도우가 찼다가 다시 열리는 모습이 보이게 한다)" })
        case .socketOutcome:
            Wording({ a in "디스크립터 \(josa(a[0], "이", "가")) 브라우저의 소켓을 가리킨다" })
        case .resolveHeading:
            Wording({ a in "2. 리졸버가 DNS 서버에 \(a[0])의 IP 주소를 묻는다" })
        case .resolveExplanation:
            Wording({ _ in "소켓 라이브러리에는 DNS 클라이언트인 리졸버가 들어 있다. 이름이 hosts 테이블에도 캐시에도 없으므로, 리졸버는 네임서버 198.51.100.53에 UDP로 A 레코드 조회 메시지를 보낸다. 그 주소는 다른 네트워크에 있다: IP의 라우팅 테이블은 기본 게이트웨이 192.0.2.1을 거치라고 하는데, ARP 캐시가 비어 있으므로 먼저 ARP로 게이트웨이의 MAC 주소를 알아내야 한다. 장에 나오는 모든 계층이 아래 순서대로 차례를 맡는다." })
        case .callLookup:
            Wording({ a in "getaddrinfo(\"\(a[0])\")   (리졸버: 네임서버 \(a[1]), 타임아웃 1초, 3번 시도)\(a.flag(2) ? " — 조회가 실패해서 다시 묻는다" : "")" })
        case .resolverCouldNotStart:
            Wording({ a in "리졸버를 시작하지 못했다: \(a[0])" })
        case .noAddress:
            Wording({ a in "\(a[0])의 IP 주소를 얻지 못했다: \(a[1])" })
        case .resolveOutcome:
            Wording({ a in "\(a[0])의 IP 주소는 \(a[1])(\(a[2]), \(a[3])초 동안 유효). 브라우저의 ARP 캐시에는 이제 게이트웨이가 들어 있다" })
        case .callLookupAgain:
            Wording({ a in "getaddrinfo(\"\(a[0])\")   (같은 이름을 한 번 더)" })
        case .lookupAgainOutcome:
            Wording({ a in "다시 물으면 리졸버의 \(a[0])에서 곧바로 답한다(\(a[1])초 남음) — 조회 메시지도 프레임도 나가지 않는다" })
        case .connectHeading: Wording({ _ in "3. connect(): 3-way 핸드셰이크" })
        case .connectExplanation:
            Wording({ _ in "connect()는 프로토콜 스택에 서버의 IP 주소와 포트 번호를 알려 준다. TCP는 자기 쪽 포트를 고르고 송신 버퍼와 수신 버퍼를 마련한 뒤, 서로 알아야 할 제어 정보를 서버와 주고받는다: 초기 시퀀스 번호, 윈도우(수신 버퍼의 빈 공간), MSS(세그먼트 하나에 담을 수 있는 데이터의 최대 길이). 이제 캐시가 채워져 있으므로 이번에는 ARP가 필요 없다." })
        case .callConnect:
            Wording({ a in "connect(\(a[0]), \(a[1]))" })
        case .connectFailed:
            Wording({ a in "connect 실패: \(a[0])" })
        case .noConnection:
            Wording({ a in "연결하지 못했다\(a.isEmpty(0) ? "" : ": \(a[0])")" })
        case .connectOutcome:
            Wording({ a in "연결됨: \(a[0]) ↔ \(a[1]). 브라우저는 MSS \(a[2]), 서버는 MSS \(josa(a[3], "을", "를")) 알렸으므로, 꽉 찬 세그먼트 하나에 데이터 \(a[4])바이트가 실린다(타임스탬프 옵션이 12바이트를 차지한다)" })
        case .netstatFilled:
            Wording({ a in "\(a[0])$ netstat   (소켓의 제어 정보가 채워졌다)" })
        case .signalTitle: Wording({ _ in "케이블 위의 SYN: 브라우저의 LAN 어댑터가 내보내는 신호" })
        case .signalOutcome:
            Wording({ a in "신호에서 다시 읽어 낸 바이트: \(a[0]) — \(a.flag(1) ? "캡처에 있는 SYN의 앞부분과 같다 ✓" : "보낸 바이트와 다르다 ✗")" })
        case .transferHeading:
            Wording({ a in "4. HTTP GET, 그리고 세그먼트로 나뉘어 오는 \(a[0])바이트짜리 페이지" })
        case .transferExplanation:
            Wording({ _ in "send()가 요청을 프로토콜 스택에 넘긴다. 응답은 MSS보다 훨씬 크므로 서버의 TCP가 이를 세그먼트로 나누고, ACK이 돌아오기 전에 윈도우가 허락하는 만큼 여러 개를 보낸다. 브라우저는 다음에 기다리는 바이트 번호로 ACK을 보내고, 모든 ACK의 윈도우 필드로 버퍼의 빈 공간을 알린다. 브라우저는 1밀리초에 8 KiB씩 읽는데(화면에 그리는데) 이는 회선보다 느리므로, 윈도우가 줄었다가 다시 열리는 모습을 볼 수 있다." })
        case .callSendRequest:
            Wording({ a in "send(\(a[0]), \"GET / HTTP/1.1\\r\\nHost: \(a[1])…\", \(a[2]))" })
        case .requestNotSent: Wording({ _ in "요청을 보내지 못했다" })
        case .stillIncomplete:
            Wording({ a in "시뮬레이션 시간으로 \(a[0])초가 지나도 끝나지 않았다" })
        case .pageIncomplete:
            Wording({ a in "페이지가 온전히 도착하지 않았다: \(a[0]). 지금까지 받은 본문은 \(a[1])바이트" })
        case .serverSide:
            Wording({ a in "서버 쪽 연결: \(a[0]) \(a[1])" })
        case .transferOutcome:
            Wording({ a in "HTTP \(a[0]): \(a[1])바이트의 페이지가 데이터 세그먼트 \(a[2])개로 와서 recv() \(a[3])번으로 읽혔다. GET 이후 시뮬레이션 시간 \(a[4])" })
        case .hashServed:
            Wording({ a in "보낸 페이지의 SHA-256  \(a[0])" })
        case .hashReceived:
            Wording({ a in "받은 페이지의 SHA-256  \(a[0])  \(a.flag(1) ? "— 같다 ✓" : "— 다르다 ✗")" })
        case .retransmissionItem:
            Wording({ a in "seq \(a[0])(\(a.flag(1) ? "빠른 재전송" : "타임아웃"))" })
        case .recoveredOutcome:
            Wording({ a in "TCP 혼자서 되찾았다: 재전송 \(a[0])번 — \(a[1]). 브라우저는 중복 ACK \(a[2])개, 윈도우 갱신 \(a[3])개, 윈도우 0 ACK \(a[4])개를 보냈다" })
        case .noiseHeading:
            Wording({ _ in "5. 케이블의 잡음: 손상된 프레임 하나 — 어댑터가 버리고 TCP가 되찾는다" })
        case .noiseExplanation:
            Wording({ a in "브라우저로 가는 \(a[0])번째 데이터 세그먼트가 허브에서 오는 케이블에서 비트 하나가 뒤집힌다. 브라우저의 LAN 어댑터는 신호를 다시 비트로 바꿔 CRC-32를 계산하고, 그 값이 프레임의 FCS와 다르므로 프레임을 버린다. 어댑터도 허브도 라우터도 다시 보내 달라고 하지 않는다. 뒤따르는 세그먼트는 순서가 어긋난 채 도착하고, 브라우저가 SACK 블록을 붙인 중복 ACK으로 이를 서버에 알리면, 송신 버퍼에 아직 그 바이트를 가지고 있는 서버가 재전송한다." })
        case .closeHeading:
            Wording({ _ in "6. close(): 양쪽이 FIN을 보내고, 먼저 닫은 쪽은 TIME_WAIT에 머문다" })
        case .closeExplanation:
            Wording({ _ in "브라우저는 페이지를 모두 받았으므로 먼저 연결을 닫는다. 양쪽이 각각 FIN을 보내고 상대의 FIN에 ACK으로 답한다. 서버의 소켓은 마지막 ACK을 받을 때 삭제되지만, 브라우저의 소켓은 2 × MSL 동안 TIME_WAIT에 머문다: 마지막 ACK을 잃어서 서버가 FIN을 다시 보내더라도, 그 FIN이 같은 포트를 가져간 새 소켓에 닿지 않도록 하기 위해서다." })
        case .callClose:
            Wording({ a in "close(\(a[0]))" })
        case .notTimeWait:
            Wording({ a in "브라우저의 연결은 TIME_WAIT가 아니라 \(a[0]) 상태다" })
        case .connectionGone: Wording({ _ in "사라진" })
        case .closeOutcome:
            Wording({ a in "먼저 닫은 브라우저가 \(a[0]) ↔ \(josa(a[1], "을", "를")) 60초 동안 TIME_WAIT로 붙잡고 있다. 서버의 소켓은 삭제되었다" })
        case .reuseIntro:
            Wording({ a in "그 사이 새 소켓이 같은 4-튜플(\(a[0]) ↔ \(a[1]))을 쓰려고 한다:" })
        case .callSocketAgain:
            Wording({ a in "fd = socket(AF_INET\(a.flag(1) ? "6" : ""), SOCK_STREAM)  →  \(a[0])   (디스크립터 번호는 다시 비었지만 포트는 아니다)" })
        case .callBind:
            Wording({ a in "bind(\(a[0]), \(a[1]))  →  \(a.isEmpty(2) ? "0" : a[2])\(a.isEmpty(3) ? "" : ": TIME_WAIT 소켓이 아직 포트 \(josa(a[3], "을", "를")) 쥐고 있다")" })
        case .callReuseAddress:
            Wording({ a in "setsockopt(\(a[0]), SO_REUSEADDR, 1)  →  0   (이전 연결이 TIME_WAIT인 포트에도 bind할 수 있게 한다)" })
        case .callConnectReused:
            Wording({ a in "connect(\(a[0]), \(a[1]))  →  시작됨: 프로토콜 스택이 4-튜플의 재사용을 허락했다" })
        case .callConnectRefused:
            Wording({ a in "connect(\(a[0]), \(a[1]))  →  \(a[2]): 바로 그 4-튜플은 TIME_WAIT 소켓의 것이다. SYN은 나가지 않는다" })
        case .reuseOutcome:
            Wording({ a in a.flag(0)
                ? "거부됨: TIME_WAIT가 이어지는 동안 새 연결은 \(a[1]) ↔ \(josa(a[2], "을", "를")) 쓸 수 없다(새 소켓이라면 그냥 다른 포트를 받는다)"
                : "프로토콜 스택이 TIME_WAIT 중에 4-튜플의 재사용을 허락했다" })
        case .ladderHeading: Wording({ _ in "연결 전체를 사다리 그림으로" })
        case .ladderExplanation:
            Wording({ _ in "시간은 위에서 아래로 흐른다(SYN 이후 밀리초). 시퀀스 번호와 ACK 번호는 각자의 초기 시퀀스 번호를 기준으로 센다. 평범한 세그먼트가 이어지는 부분은 한 줄로 접었고, 핸드셰이크, 손실, 복구, 윈도우가 처음 닫히는 순간, 연결 종료는 남겨 두었다. ✗는 상대의 TCP가 끝내 받지 못한 세그먼트다." })
        case .udpHeading: Wording({ _ in "7. UDP: 잃어버린 데이터그램은 그냥 사라진다" })
        case .udpExplanation:
            Wording({ a in "UDP에는 연결도 ACK도 재전송도 없다 — 늦게 온 데이터가 어차피 쓸모없는 실시간 음성이나 영상에 알맞다. 브라우저는 160바이트(전화 음성 20밀리초 분량)짜리 데이터그램 \(a[0])개를 20밀리초 간격으로 서버의 UDP 에코 서비스(포트 \(a[1]))에 보낸다. \(a[2])번째 데이터그램은 라우터에서 스위치로 가는 케이블에서 사라진다." })
        case .callUDPSocket:
            Wording({ a in "fd = socket(AF_INET\(a.flag(1) ? "6" : ""), SOCK_DGRAM)  →  \(a[0])" })
        case .callUDPConnect:
            Wording({ a in "connect(\(a[0]), \(a[1]))  →  0   (UDP에서는 상대를 기록할 뿐 아무것도 보내지 않는다)" })
        case .callUDPSend:
            Wording({ a in "send(\(a[0]), \"audio frame \(a[1])/\(a[2]) …\", \(a[3]))" })
        case .echoOutcome:
            Wording({ a in "에코가 돌아온 데이터그램: \(a[0]). 빠진 것: \(a.isEmpty(1) ? "없음" : a[1])" })
        case .udpStackOutcome:
            Wording({ a in "브라우저의 UDP는 send() \(a[1])번에 데이터그램 \(a[0])개를 보냈다: 다시 보낸 것은 없고, 손실을 안 것은 애플리케이션뿐이다" })
        case .tablesHeading: Wording({ _ in "마지막에 본 호스트들의 테이블" })
        case .tablesExplanation:
            Wording({ _ in "장에서 netstat, route, arp로 보여 주는 것과 같은 화면이다. 브라우저의 예전 연결은 아직 TIME_WAIT에 있고, 도중에 알게 된 ARP 캐시 항목은 60초 동안 보관된다." })
        case .hostSummary:
            Wording({ a in "\(a[0]): 경로 \(a[1])개, ARP 캐시 항목 \(a[2])개, 소켓 \(a[3])개\(a[4] == "0" ? "" : "(TIME_WAIT \(a[4])개)")" })
        case .switchTableTitle: Wording({ _ in "스위치의 MAC 주소 테이블(송신처 주소로 학습):" })
        case .switchSummary:
            Wording({ a in "switch: MAC 주소 테이블 항목 \(a[0])개(송신처 주소로 학습)" })
        case .countersHeading: Wording({ _ in "카운터" })
        case .framesSentSummary:
            Wording({ a in "보낸 프레임 수: \(a[0])" })
        case .hubCounter:
            Wording({ a in "허브: 포트로 프레임 \(a[0])개를 내보냈다(모든 프레임을 다른 모든 포트로)" })
        case .switchCounter:
            Wording({ a in "스위치: 프레임 \(a[0])개를 보냈다 — 학습한 포트 하나로 \(a[1])개, 플러딩 \(a[2])개. FCS 오류로 버린 것 \(a[3])개" })
        case .routerCounter:
            Wording({ a in "라우터: 두 LAN 사이에서 IP 패킷 \(a[0])개를 중계했다" })
        case .cableCounter:
            Wording({ a in "케이블: 손상된 프레임 \(a[0])개, 잃은 프레임 \(a[1])개" })
        case .fcsCounter:
            Wording({ a in "FCS 검사로 버린 프레임: \(a[0])개" })
        case .tcpCounter:
            Wording({ a in "TCP 재전송: \(a[0])번(중복 ACK \(a[1])개, 윈도우 갱신 \(a[2])개, 윈도우 0 \(a[3])개)" })
        case .arpDNSCounter:
            Wording({ a in "ARP 요청: \(a[0])개, DNS 조회: \(a[1])개" })
        case .didNotComplete: Wording({ _ in "끝나지 못한 단계:" })
        case .manchesterExplanation:
            Wording({ _ in "10BASE-T가 보내는 맨체스터 부호(IEEE 802.3 7절): 비트 하나는 100 ns이고 최하위 비트부터 나간다. 모든 비트의 한가운데에서 전압이 바뀌는데, 1이면 낮음→높음, 0이면 높음→낮음이다. 그래서 수신 측은 신호 자체에서 송신 측의 클록을 읽어 낸다." })
        case .signalSkippedField:
            Wording({ a in "\(a[0]) 이 앞에 \(a[2] == "preamble" ? "프리앰블" : a[2]) \(a[1])바이트가 더 있다\(a.isEmpty(3) ? "" : "(모두 \(a[3]))")" })
        case .signalSkippedBytes:
            Wording({ a in "\(a[0]) 이 앞에 \(a[1])바이트가 더 있다\(a.isEmpty(2) ? "" : "(모두 \(a[2]))")\(a.isEmpty(3) ? "" : ": \(a[3])")" })
        case .ladderFoldedEntry:
            Wording({ a in
                let noun = switch a[1] {
                case "data": "데이터 세그먼트"
                case "ack": "ACK"
                default: "세그먼트"
                }
                return "\(noun) \(a[0])개"
            })
        case .ladderFolded:
            Wording({ a in "\(a[0]) 생략" })
        case .answerSource:
            Wording({ a in
                switch a[0] {
                case "hosts": "hosts 테이블"
                case "cache": "캐시"
                case "nameserver": "네임서버 \(a[1])"
                default: "주소 그대로"
                }
            })
        case .problemNoAddresses: Wording({ _ in "브라우저의 소켓에 닫을 주소가 없었다" })
        case .problemCallFailed:
            Wording({ a in "\(a[0]) 실패: \(a[1])" })
        case .problemCallFailedAtOnce:
            Wording({ a in "\(josa(a[0], "이", "가")) 곧바로 실패했다: \(a[1])" })
        case .problemRequestFailed:
            Wording({ a in "GET 요청의 send() 실패: \(a[0])" })
        case .problemCloseUnfinished:
            Wording({ a in "시뮬레이션 시간 \(a[0])초 안에 연결 종료가 끝나지 않았다" })
        case .problemNotTimeWait:
            Wording({ a in "브라우저의 연결이 TIME_WAIT가 아니라 \(a[0]) 상태라서 재사용 시험을 건너뛰었다" })
        case .problemLookupFailed:
            Wording({ a in "DNS 조회가 \(a[0])번 시도해도 성공하지 못했다(\(a[1]))" })
        case .problemHandshakeUnfinished:
            Wording({ a in "시뮬레이션 시간 \(a[0])초 안에 핸드셰이크가 끝나지 않았다\(a.isEmpty(1) ? "" : "(\(a[1]))")" })
        case .problemNoSYN: Wording({ _ in "캡처에서 SYN을 찾지 못했다" })
        case .problemNoDamage: Wording({ _ in "계획한 프레임 손상이 일어나지 않았다(전송이 먼저 끝났다)" })
        case .problemNoPage:
            Wording({ a in "페이지가 도착하지 않았다: \(a[0])(\(a[1])바이트)" })
        case .problemNoConnection: Wording({ _ in "연결이 없어 HTTP, 연결 종료, TIME_WAIT 단계를 건너뛰었다" })
        case .problemServerFailed:
            Wording({ a in "서버를 시작하지 못했다: \(a[0])" })
        case .pressEnter: Wording({ _ in "(다음 단계로 가려면 Enter)" })
        case .repeatEntry:
            Wording({ a in "\(a[2]) \(a[0])개" })
        case .lowerRepeats:
            Wording({ a in "위와 같은 프레임 수준의 이벤트\(a.flag(2) ? "(\(a.flag(3) ? "IPv6, NDP" : "IP, ARP"), 이더넷, 어댑터, 허브, 스위치, 라우터)" : "") \(a[0])개" })
        case .repeatsSummary:
            Wording({ a in "…그 밖에 " + (a.isEmpty(0) ? a[1] : a.isEmpty(1) ? a[0] : "\(a[0]), 그리고 \(a[1])") })
        default:
            koreanIPv6(kind)
        }
    }
}
