// The Korean wording of what only `netstack demo --ipv6` says (see Wording+EnglishIPv6.swift):
// the same kinds, the same parameters.

extension Wording {
    static func koreanIPv6(_ kind: PhraseKind) -> Wording? {
        switch kind {
        // MARK: Events
        case .route6:
            Wording("IPv6 경로 조회", { a in "\(a[0])에 대해 IPv6 라우팅 테이블을 찾는다: 가장 길게 일치하는 항목은 \(a.isEmpty(1) ? "기본 경로(::/0)" : a[1]), Flag \(a[2]) → \(a.isEmpty(3) ? "라우터 없음: \(josa(a[0], "은", "는")) 같은 링크에 있다" : "다음 홉 라우터 \(a[3])"), If \(a[4]). NDP로 링크 주소를 찾을 이웃은 \(a[5])" },
                    brief: { a in "경로 \(a[0]) → \(a[5]) dev \(a[4])" })
        case .ip6Sent:
            Wording("만든 IPv6 패킷", { a in "IPv6 헤더를 붙인다: \(a[0]) → \(a[1]), 다음 헤더 \(a[2]), 홉 제한 \(a[3]), 페이로드 길이 \(a[4])바이트(체크섬도 단편화 필드도 없는 40바이트 고정 헤더), \(josa(a[5], "으로", "로")) 내보낸다" },
                    brief: { a in a[6] })
        case .ip6Received:
            Wording("검사한 IPv6 패킷", { a in
                let verdict = switch a[3] {
                case "local": "이 호스트가 수신처다"
                case "forward": "이 호스트가 수신처가 아니다: 라우터이므로 중계한다"
                default: "이 호스트가 수신처가 아니다"
                }
                return "IPv6가 \(josa(a[0], "으로", "로")) 받은 패킷을 검사한다: 버전 6, 페이로드 길이 \(a[1]), 홉 제한 \(a[5])(검사할 헤더 체크섬은 없다). 수신처 \(a[2]) — \(verdict)"
            }, brief: { a in "\(a[4]) 정상" })
        case .forwarded6:
            Wording("중계한 IPv6 패킷", { a in "\(a[0]) → \(a[1]) 중계: \(josa(a[2], "으로", "로")) 들어와 홉 제한을 \(josa(a[3], "으로", "로")) 줄이고(고칠 체크섬은 없고, IPv6 라우터는 단편화하지 않는다), 라우팅 테이블을 찾아 \(josa(a[4], "으로", "로")) 다음 홉 \(a[5])에게 내보낸다" },
                    brief: { a in "중계 \(a[0]) → \(a[1]) 홉 제한 \(a[3]), \(josa(a[4], "으로", "로"))" })
        case .ndpHit:
            Wording("이웃 캐시 적중", { a in "이웃 캐시에 있다: \(a[0])의 링크 주소는 \(a[1]) — 물어볼 필요가 없다" },
                    brief: { a in "캐시 적중 \(a[0]) → \(a[1])" })
        case .ndpMiss:
            Wording("이웃 캐시 실패", { a in "이웃 캐시에 \(josa(a[0], "이", "가")) 없다: 이웃 탐색이 링크에 묻는 동안 패킷은 큐에서 기다린다" },
                    brief: { a in "캐시에 없음 \(a[0])" })
        case .ndpSolicit:
            Wording("이웃 요청", { a in
                a.flag(3)
                    ? "\(a[0])에서 중복 주소 검출: ::에서 \(a[1])의 요청 노드 그룹 \(a[2])에게 이웃 요청을 보낸다 — 응답이 오면 다른 누군가가 그 주소를 쓰고 있다는 뜻이다"
                    : "\(a[0])에서 이웃 요청(ICMPv6 타입 135)을 \(a[1])의 요청 노드 멀티캐스트 그룹 \(a[2])에게 보낸다: 주소 끝이 같은 노드만 듣는다 — 브로드캐스트가 아니다: \"\(josa(a[1], "을", "를")) 가진 분은 누구인가요? 제 링크 주소는 옵션에 있습니다\""
            }, brief: { a in a.flag(3) ? "\(a[1]) 중복 주소 검출" : "\(josa(a[1], "은", "는")) 누구? → \(a[2])" })
        case .ndpAdvert:
            Wording("이웃 광고", { a in "\(a[1])에게 이웃 광고(ICMPv6 타입 136) — \"\(a[0])의 링크 주소는 \(a[2])입니다\"\(a.flag(3) ? " (S 플래그: 요청에 대한 응답)" : "")" },
                    brief: { a in "\(a[0])의 링크 주소 \(a[2]) → \(a[1])" })
        case .ndpLearned:
            Wording("이웃 캐시 갱신", { a in "이웃 캐시: \(a[0])의 링크 주소는 \(a[1]) — 트래픽이 확인해 주는 동안 유지되고, 오래된 항목은 다음에 쓰기 전에 다시 확인한다(이웃 도달 불가 검출)" },
                    brief: { a in "학습 \(a[0]) → \(a[1])" })
        // MARK: Steps
        case .diagramLegend6:
            Wording({ _ in "LAN A 2001:db8:a::/64: 허브가 모든 프레임을 중계       LAN B 2001:db8:b::/64: 스위치가 MAC 주소를 학습\n모든 케이블: FCS가 붙는 100 Mbit/s 이더넷. IPv6만: IPv4 주소를 가진 호스트는 없다." })
        case .powerOnExplanation6:
            Wording({ _ in "각 호스트가 자기 IPv6 주소 — 링크 로컬 주소 fe80::와 전역 주소 — 를 설정하고, 주소마다 직접 연결된 경로가 생기며, 요청 노드 멀티캐스트 그룹에 가입한다(MLD 보고). 이어서 중복 주소 검출이 다른 누군가가 그 주소를 쓰는지 링크에 묻는다: ::에서 보내는 이웃 요청과 1초의 침묵. IPv6에는 ARP가 없다: ICMPv6 위의 이웃 탐색이 그 자리를 맡는다. 이웃 캐시는 비어 있는 상태로 시작한다." })
        case .resolveExplanation6:
            Wording({ _ in "소켓 라이브러리에는 DNS 클라이언트인 리졸버가 들어 있다. 이름이 hosts 테이블에도 캐시에도 없으므로, 리졸버는 네임서버 2001:db8:b::53에 IPv6 위의 UDP로 AAAA 레코드(IPv6 주소 레코드) 조회 메시지를 보낸다. 그 주소는 다른 네트워크에 있다: IPv6 라우팅 테이블은 라우터 2001:db8:a::1을 거치라고 하는데, 이웃 캐시가 비어 있으므로 먼저 이웃 탐색으로 라우터의 요청 노드 멀티캐스트 그룹에 물어 링크 주소를 알아내야 한다. 장에 나오는 모든 계층이 아래 순서대로 차례를 맡는다." })
        case .resolveOutcome6:
            Wording({ a in "\(a[0])의 IPv6 주소는 \(a[1])(\(a[2]), \(a[3])초 동안 유효). 브라우저의 이웃 캐시에는 이제 라우터가 들어 있다" })
        case .connectExplanation6:
            Wording({ _ in "connect()는 프로토콜 스택에 서버의 IP 주소와 포트 번호를 알려 준다. TCP는 자기 쪽 포트를 고르고 송신 버퍼와 수신 버퍼를 마련한 뒤, 서로 알아야 할 제어 정보를 서버와 주고받는다: 초기 시퀀스 번호, 윈도우(수신 버퍼의 빈 공간), MSS(세그먼트 하나에 담을 수 있는 데이터의 최대 길이 — IP 헤더가 커서 IPv4보다 20바이트 작다). 이제 캐시가 채워져 있으므로 이번에는 이웃 탐색이 필요 없다." })
        case .tablesExplanation6:
            Wording({ _ in "IPv6의 도구로 본 같은 화면이다: netstat, route -6, 이웃 캐시(ip -6 neigh). 브라우저의 예전 연결은 아직 TIME_WAIT에 있고, 도중에 알게 된 이웃 항목은 트래픽이 없으면 얼마 뒤 오래된 상태가 되어 다음에 쓰기 전에 다시 확인한다." })
        case .hostSummary6:
            Wording({ a in "\(a[0]): IPv6 경로 \(a[1])개, 이웃 캐시 항목 \(a[2])개, 소켓 \(a[3])개\(a[4] == "0" ? "" : "(TIME_WAIT \(a[4])개)")" })
        case .ndpDNSCounter:
            Wording({ a in "이웃 요청: \(a[0])개, DNS 조회: \(a[1])개" })
        default:
            nil
        }
    }
}
