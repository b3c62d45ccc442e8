// 데모의 한국어 문구: 장(章)의 용어(소켓, 디스크립터, 프로토콜 스택, 리졸버, 제어 정보,
// 시퀀스 번호, ACK 번호, 윈도우, 재전송, 라우팅 테이블, ARP 캐시, MAC 헤더, FCS …)로 쓴다.
// 매개변수의 순서는 영어 표(Wording+English.swift)의 각 항목 주석과 같다.

extension Wording {
    static func korean(_ kind: PhraseKind) -> Wording? {
        switch kind {
        // MARK: 스택 이벤트 (EventNarration.swift)
        case .udpSent:
            Wording("보낸 데이터그램", { a in "sendto(\(a[0])바이트 → \(a[1])): UDP가 이 데이터를 포트 \(a[2])에서 나가는 데이터그램 하나에 담고 8바이트 헤더(포트, 길이, 체크섬)를 붙인다 — 연결도 핸드셰이크도 없고, 재전송을 위해 남겨 두는 사본도 없다" },
                    brief: { a in "UDP \(a[3]) → \(a[1]), \(a[0])바이트" })
        case .udpDelivered:
            Wording("전달된 데이터그램", { a in "UDP 체크섬 정상, 포트 \(a[3])에 소켓이 있다: \(a[1])에서 온 \(a[0])바이트가 수신 큐에 들어가 애플리케이션의 recvfrom()을 기다린다" },
                    brief: { a in "UDP \(a[1]) → \(a[2]) 전달, \(a[0])바이트" })
        case .udpFull:
            Wording("버린 데이터그램(큐 가득 참)", { a in "포트 \(a[0])의 수신 큐가 가득 차서 데이터그램을 버린다" },
                    brief: { a in "포트 \(a[0]) 큐 가득 참, 버림" })
        case .pingSent:
            Wording("에코 요청", { a in "ping \(a[0]): ICMP 에코 요청 id \(a[1]) seq \(a[2]), 데이터 \(a[3])바이트" },
                    brief: { a in "에코 요청 seq \(a[2]) → \(a[0])" })
        case .pingReply:
            Wording("에코 응답", { a in "\(a[0]): icmp_seq=\(a[1]) ttl=\(a[2]) time=\(a[3]) — 응답이 길을 찾아 돌아왔다" },
                    brief: { a in "에코 응답 seq \(a[1]), \(a[0])에서, ttl \(a[2]), \(a[3])" })
        case .socketError:
            Wording("소켓 오류", { a in "\(a[0])에서 온 ICMP가 포트 \(a[1])에 관한 것이다: 소켓은 \(josa(a[2], "을", "를")) 알린다" },
                    brief: { a in "포트 \(a[1]): \(a[0])에서 \(a[2])" })
        case .dnsQuery:
            Wording("보낸 DNS 조회", { a in "리졸버: \(a[0])의 \(a[5]) 레코드 조회(id 0x\(a[1]), \(a[2])번째 시도)를 \(a[6])으로 보낸다. 응답을 \(a[4])초 기다리고, 오지 않으면 다시 묻는다" },
                    brief: { a in "DNS \(a[5])? \(a[0]) → \(a[3]) (\(a[2])번째 시도)" })
        case .dnsAnswer:
            Wording("받아들인 DNS 응답", { a in "리졸버: 응답의 id, 포트, 질문이 조회와 일치한다. \(a[0])에 따르면 \(a[1])\(a.isEmpty(2) ? "" : "(\(a[2])의 별칭)")의 IP 주소는 \(a[3]), 유효 기간 \(a[4])초 — 그동안 리졸버의 캐시에 보관된다" },
                    brief: { a in "DNS \(a[1]) → \(a[3])" })
        case .dnsRejected:
            Wording("거부한 DNS 응답", { a in "리졸버: \(a[0])에서 온 \(a[1])에 관한 데이터그램을 버린다: \(a[2])" },
                    brief: { a in "DNS 응답 거부(\(a[0])): \(a[2])" })
        case .dnsServerError:
            Wording("DNS 서버 오류", { a in "리졸버: \(josa(a[0], "이", "가")) \(a[1])에 \(josa(a[2], "으로", "로")) 답한다. 다음 서버에 묻는다" },
                    brief: { a in "DNS \(a[0]): \(a[2])" })
        case .dnsLocal:
            Wording("조회 없이 찾은 이름", { a in "리졸버: \(a[0]) → \(a[1]) (\(a[2])): 조회할 필요가 없다" },
                    brief: { a in "DNS \(a[0]), \(a[2])에서" })
        case .dnsFailed:
            Wording("실패한 조회", { a in "리졸버: \(a[0])의 조회 실패: \(a[1])" }, brief: { a in "DNS \(a[0]): \(a[1])" })
        case .route:
            Wording("경로 조회", { a in "\(a[0])에 대해 라우팅 테이블을 찾는다: 가장 길게 일치하는 항목은 \(a.isEmpty(1) ? "기본 경로(0.0.0.0/0)" : a[1]), Flags \(a[2]) → \(a.isEmpty(3) ? "게이트웨이 없음: \(josa(a[0], "은", "는")) 같은 링크에 있다" : "게이트웨이 \(a[3])"), Iface \(a[4]). ARP로 MAC 주소를 찾을 다음 홉은 \(a[5])" },
                    brief: { a in "경로 \(a[0]) → \(a[5]) dev \(a[4])" })
        case .noRoute:
            Wording("경로 없음", { a in "\(josa(a[0], "으로", "로")) 가는 경로가 없다: ENETUNREACH" }, brief: { a in "\(a[0]) 경로 없음" })
        case .ipSent:
            Wording("만든 IP 패킷", { a in "IP 헤더를 붙인다: \(a[0]) → \(a[1]), 프로토콜 \(a[2]), TTL \(a[3]), id 0x\(a[4]), 전체 길이 \(a[5])바이트(헤더 20바이트), \(josa(a[6], "으로", "로")) 내보낸다" },
                    brief: { a in a[7] })
        case .fragmented:
            Wording("단편화한 IP 패킷", { a in "\(a[0])바이트는 MTU \(a[1])에 들어가지 않는다: 같은 id 0x\(josa(a[3], "을", "를")) 가진 조각 \(a[2])개로 나눈다. 오프셋은 8바이트 단위이고, 마지막 조각을 뺀 모두에 MF 플래그가 켜진다" },
                    brief: { a in "id 0x\(josa(a[3], "을", "를")) \(a[2])조각으로 나눔" })
        case .ipReceived:
            Wording("검사한 IP 패킷", { a in
                let verdict = switch a[4] {
                case "local": "이 호스트가 수신처다"
                case "forward": "이 호스트가 수신처가 아니다: 라우터이므로 중계한다"
                default: "이 호스트가 수신처가 아니다"
                }
                return "IP가 \(josa(a[0], "으로", "로")) 받은 패킷을 검사한다: 버전 4, 헤더 20바이트, 전체 길이 \(a[1]), 헤더 체크섬 0x\(a[2]) 정상. 수신처 \(a[3]) — \(verdict)"
            }, brief: { a in "\(a[5]) 정상" })
        case .ipDropped:
            Wording("버린 IP 패킷", { a in "\(a.isEmpty(0) ? "패킷" : a[0])을 버린다: \(a[1])" }, brief: { a in "버림: \(a[1])" })
        case .forwarded:
            Wording("중계한 IP 패킷", { a in "\(a[0]) → \(a[1]) 중계: \(josa(a[2], "으로", "로")) 들어와 TTL을 \(josa(a[3], "으로", "로")) 줄이고 헤더 체크섬을 고친 뒤(RFC 1624), 라우팅 테이블을 찾아 \(josa(a[4], "으로", "로")) 다음 홉 \(a[5])에게 내보낸다" },
                    brief: { a in "중계 \(a[0]) → \(a[1]) ttl \(a[3]), \(josa(a[4], "으로", "로"))" })
        case .reassembled:
            Wording("재조립한 IP 패킷", { a in "id 0x\(a[0])의 조각이 모두 도착했다: \(a[1])바이트로 재조립" },
                    brief: { a in "\(a[1])바이트로 재조립" })
        case .icmpSent:
            Wording("보낸 ICMP 메시지", { a in "\(a[0]) → \(a[1])" })
        case .icmpReceived:
            Wording("받은 ICMP 메시지", { a in "\(a[1])에서 \(a[0]), 체크섬 정상" }, brief: { a in "\(a[1])에서 \(a[0])" })
        case .icmpRateLimited:
            Wording("억제한 ICMP 오류", { a in "\(josa(a[0], "으로", "로")) 보낼 ICMP 오류를 전송률 제한으로 보내지 않는다" },
                    brief: { a in "\(josa(a[0], "으로", "로")) 가는 오류 억제" })
        case .arpHit:
            Wording("ARP 캐시 적중", { a in "ARP 캐시에 있다: \(a[0])의 MAC 주소는 \(a[1]) — 물어볼 필요가 없다" },
                    brief: { a in "캐시 적중 \(a[0]) → \(a[1])" })
        case .arpMiss:
            Wording("ARP 캐시 실패", { a in "ARP 캐시에 \(josa(a[0], "이", "가")) 없다: ARP가 LAN에 묻는 동안 패킷은 큐에서 기다린다" },
                    brief: { a in "캐시에 없음 \(a[0])" })
        case .arpRequest:
            Wording("ARP 요청", { a in "ARP 요청을 \(josa(a[0], "으로", "로")) ff:ff:ff:ff:ff:ff에 브로드캐스트한다: \"IP 주소 \(josa(a[1], "을", "를")) 가진 분은 MAC 주소를 \(a[2])에게 알려 주세요\" (\(a[4])번 중 \(a[3])번째)" },
                    brief: { a in "\(josa(a[1], "은", "는")) 누구? (\(a[3])번째)" })
        case .arpReply:
            Wording("ARP 응답", { a in "요청이 내 주소를 묻고 있다: \(a[0])(\(a[1]))에게 유니캐스트로 ARP 응답 — \"제 MAC 주소는 \(a[2])입니다\"" },
                    brief: { a in "\(a[1])에게 ARP 응답" })
        case .arpAnnounce:
            Wording("gratuitous ARP", { a in "\(a[1])에 주소 \(josa(a[0], "을", "를")) 설정했다: gratuitous ARP로 LAN에 알린다" },
                    brief: { a in "\(a[0]) 알림" })
        case .arpLearned:
            Wording("ARP 캐시 갱신", { a in "ARP 캐시: \(a[0])의 MAC 주소는 \(a[1]), \(a[2])초 동안 보관(Flags C)" },
                    brief: { a in "학습 \(a[0]) → \(a[1])" })
        case .arpFailed:
            Wording("ARP 실패", { a in "\(a[1])번 요청해도 \(a[0])에게서 응답이 없다: 기다리던 패킷 \(a[2])개를 버린다" },
                    brief: { a in "\(a[0]) 포기" })
        case .frameQueued:
            Wording("보낸 프레임", { a in "MAC 헤더: 수신처 \(a[0]), 송신처 \(a[1]), 타입 \(a[2]). \(a[3])바이트는 회선에서 \(a[4])바이트가 된다(짧으면 최소 길이까지 채우고\(a.isEmpty(5) ? "" : ", FCS 0x\(a[5])(CRC-32)를 덧붙인다")). LAN 어댑터 \(josa(a[6], "이", "가")) 비트를 전기 신호로 바꿔 케이블로 내보낸다" },
                    brief: { a in "프레임 \(a[1]) → \(a[0]) \(a[2]), \(a[4])바이트" })
        case .adapterAccepted:
            Wording("어댑터가 받은 프레임", { a in "\(a[0]): 신호를 다시 \(a[1])바이트의 디지털 데이터로 바꾼다. FCS를 다시 계산하니 일치하고, 수신처 MAC 주소가 내 것이거나 브로드캐스트이므로 어댑터의 버퍼에 저장한다" },
                    brief: { a in "\(a[0]): \(a[1])바이트 수신" })
        case .adapterFiltered:
            Wording("MAC 주소로 걸러 낸 프레임", { a in "\(a[0]): 수신처 \(josa(a[1], "은", "는")) 내 주소가 아니다 — 어댑터가 프레임을 버린다(허브는 모든 프레임을 모든 곳에 보낸다)" },
                    brief: { a in "\(a[0]): 내 것 아님(\(a[1]))" })
        case .fcsDrop:
            Wording("FCS 오류로 버린 프레임", { a in "\(a[0]): FCS 불일치 — 받은 비트로 계산한 CRC-32가 프레임의 FCS와 다르다. 회선에서 손상되었으므로 버린다. 어댑터는 다시 보내 달라고 하지 않는다: 잃어버린 데이터를 되찾는 것은 TCP뿐이다" },
                    brief: { a in "\(a[0]): FCS 불일치, 버림" })
        case .runt:
            Wording("너무 짧은 프레임", { a in "\(a[0]): 너무 짧은 프레임(runt)을 버린다" }, brief: { a in "\(a[0]): runt" })
        case .giant:
            Wording("너무 긴 프레임", { a in "\(a[0]): \(a[1])바이트 프레임은 MTU가 허용하는 것보다 길다: 버린다" }, brief: { a in "\(a[0]): 너무 긺" })
        case .overflow:
            Wording("버퍼가 차서 잃은 프레임", { a in "\(a[0]): 수신 버퍼가 가득 차서 프레임을 잃는다" }, brief: { a in "\(a[0]): 버퍼 가득 참" })
        case .interrupt:
            Wording("인터럽트", { a in "\(josa(a[0], "이", "가")) 인터럽트를 건다: CPU가 LAN 드라이버를 실행하고, 드라이버는 어댑터의 버퍼에서 프레임 \(a[1])개를 꺼내 프로토콜 스택에 넘긴다" },
                    brief: { a in "\(a[0]): 인터럽트, 프레임 \(a[1])개" })
        case .driver:
            Wording("드라이버가 올려 보낸 프레임", { a in "드라이버가 MAC 헤더를 읽는다: 타입 \(a[0]) → \(a[1])에 넘긴다" },
                    brief: { a in "타입 \(a[0]) → 스택" })
        case .frameDropped:
            Wording("드라이버가 버린 프레임", { a in "\(a[0]): 프레임을 버린다: \(a[1])" }, brief: { a in "버림: \(a[1])" })
        case .hub:
            Wording("허브가 중계한 프레임", { a in "\(a[0])바이트의 신호가 포트 \(josa(a[1], "으로", "로")) 들어와 포트 \(josa(a[2], "으로", "로")) 그대로 나간다: 허브는 주소를 읽지 않고 아무것도 검사하지 않는다" },
                    brief: { a in "포트 \(a[1]) → 다른 모든 포트" })
        case .switchLearned:
            Wording("학습한 주소", { a in "학습: \(josa(a[0], "은", "는")) 포트 \(a[1])에 있다(프레임의 송신처 주소로 안다)" },
                    brief: { a in "\(josa(a[0], "을", "를")) 포트 \(a[1])에서 학습" })
        case .switchForwarded:
            Wording("스위치가 중계한 프레임", { a in "FCS 정상. \(josa(a[0], "은", "는")) MAC 주소 테이블에서 포트 \(a[2])에 있다: 포트 \(a[1])에서 온 프레임을 그 포트로만 내보낸다" },
                    brief: { a in "\(a[0]): 포트 \(a[1]) → \(a[2])" })
        case .switchFlooded:
            Wording("플러딩한 프레임", { a in "\(a.flag(1) ? "브로드캐스트" : "\(josa(a[0], "은", "는")) 아직 MAC 주소 테이블에 없다"): 포트 \(a[2])에서 온 프레임을 포트 \(josa(a[3], "으로", "로")) 모두 내보낸다" },
                    brief: { a in "\(a[0]): 포트 \(a[2])에서 플러딩" })
        case .switchFCS:
            Wording("스위치가 FCS 검사로 버린 프레임", { a in "포트 \(a[1])의 \(a[0])바이트 프레임이 FCS 검사에 실패: 버린다" },
                    brief: { a in "포트 \(a[1])에서 FCS 오류, 버림" })
        case .corrupted:
            Wording("회선에서 손상된 프레임", { a in "케이블 \(a[0])에 잡음: 신호의 비트 \(a[1])개가 뒤집혔다 — 프레임은 도착하지만 보낸 그대로가 아니다" },
                    brief: { a in "\(a[0]): 비트 \(a[1])개 뒤집힘" })
        case .lost:
            Wording("회선에서 잃은 프레임", { a in "케이블 \(josa(a[0], "이", "가")) \(a[1])바이트 프레임을 잃었다: 반대편에는 아무것도 도착하지 않는다" },
                    brief: { a in "\(a[0]): \(a[1])바이트 잃음" })
        default:
            koreanTCP(kind)
        }
    }
}
