// The page's own words (buttons, section titles), in the run's language.
// The narration itself comes from the run; tables stay as Linux prints them.

/// The page's buttons and section titles in English and Korean.
enum PageWords {
    /// Key and text pairs for the script, in a fixed order.
    static func words(_ language: DemoLanguage) -> [(String, String)] {
        switch language {
        case .english: english
        case .korean: korean
        }
    }

    private static let english = [
        ("journey", "The journey, hop by hop"), ("previous", "◀ Previous"), ("next", "Next ▶"),
        ("hop", "Hop"), ("of", "of"), ("step", "Step"), ("showFrame", "Show this frame in the list"),
        ("notCaptured", "(not in the browser's capture: another cable, or dropped by its adapter)"),
        ("frames", "Frames on the browser's cable (the --pcap capture)"), ("time", "Time"), ("source", "Source"),
        ("destination", "Destination"), ("protocol", "Protocol"), ("info", "Info"), ("no", "No."),
        ("dissection", "Dissection"), ("bytes", "Bytes"), ("ladder", "TCP ladder diagram (browser ⇄ server)"),
        ("lost", "lost"), ("retransmission", "retransmission"),
        ("tables", "Tables after this step"), ("tablesFinal", "Tables at the end of the run"),
        ("signal", "The SYN frame's start on the cable, Manchester-coded (bits sent least significant first)"),
        ("keys", "Keys: → / ← hop (Home, End: first, last), ↑ / ↓ frame (in the list), Enter or Space opens, Tab moves between parts."),
        ("browser", "browser"),
    ]

    private static let korean = [
        ("journey", "홉 단위로 따라가는 여정"), ("previous", "◀ 이전"), ("next", "다음 ▶"),
        ("hop", "홉"), ("of", "/"), ("step", "단계"), ("showFrame", "이 프레임을 목록에서 보기"),
        ("notCaptured", "(브라우저의 캡처에 없음: 다른 케이블이거나 어댑터가 버린 프레임)"),
        ("frames", "브라우저 케이블의 프레임 (--pcap 캡처)"), ("time", "Time"), ("source", "Source"),
        ("destination", "Destination"), ("protocol", "Protocol"), ("info", "Info"), ("no", "No."),
        ("dissection", "프로토콜 해석"), ("bytes", "바이트"), ("ladder", "TCP 래더 다이어그램 (브라우저 ⇄ 서버)"),
        ("lost", "손실"), ("retransmission", "재전송"),
        ("tables", "이 단계 뒤의 테이블"), ("tablesFinal", "실행이 끝났을 때의 테이블"),
        ("signal", "케이블 위의 SYN 프레임 시작: 맨체스터 부호 (비트는 최하위 비트부터 전송)"),
        ("keys", "키: → / ← 홉 이동 (Home, End: 처음, 끝), ↑ / ↓ 프레임 이동 (목록에서), Enter·Space 열기, Tab 영역 이동."),
        ("browser", "브라우저"),
    ]
}
