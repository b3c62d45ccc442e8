import Testing
import Foundation
@testable import NetStackDemo

/// Whether `text` holds a Hangul syllable.
private func hasHangul(_ text: String) -> Bool {
    text.unicodeScalars.contains { (0xAC00...0xD7A3).contains($0.value) }
}

@Suite("netstack demo: terminal columns")
struct DisplayWidthTests {
    @Test("ASCII takes a column a character; Hangul, CJK and fullwidth forms take two")
    func widths() {
        #expect(displayWidth("socket") == 6)
        #expect(displayWidth("소켓") == 4)
        #expect(displayWidth("TCP 소켓") == 8)
        #expect(displayWidth("漢字") == 4)
        #expect(displayWidth("ＡＢ") == 4)
        #expect(displayWidth("→ ✓ —") == 5)
    }

    @Test("combining marks and ANSI colour sequences take no columns")
    func zeroWidth() {
        #expect(displayWidth("e\u{301}") == 1)
        #expect(displayWidth("\u{1B}[1m소켓\u{1B}[0m") == 4)
        // Hangul written as conjoining jamo: the leading consonant is wide, the vowel and final take none.
        #expect(displayWidth("\u{1100}\u{1161}\u{11A8}") == 2)
    }

    @Test("padding counts columns, so Hangul columns line up with ASCII ones")
    func padding() {
        #expect(padded("소켓", 8) == "소켓    ")
        #expect(displayWidth(padded("디스크립터", 12)) == 12)
        #expect(padLeft("윈도우", 8) == "  윈도우")
        #expect(padded("라우팅 테이블", 4) == "라우팅 테이블")
    }

    @Test("wrapping keeps every Korean line within the width in columns")
    func wrapping() {
        let text = "브라우저의 LAN 어댑터는 신호를 다시 비트로 바꿔 CRC-32를 계산하고, 그 값이 프레임의 FCS와 다르므로 프레임을 버린다."
        let lines = wrapWords(text, width: 30)
        #expect(lines.count > 2)
        #expect(lines.allSatisfy { displayWidth($0) <= 30 })
        #expect(lines.joined(separator: " ") == text)
        // The same text counted in characters would overflow: 30 characters of Hangul are ~55 columns.
        #expect(lines.contains { $0.count < 20 })
    }
}

@Suite("netstack demo: the language")
struct DemoLanguageChoiceTests {
    @Test("the locale decides: LC_ALL, then LC_MESSAGES, then LANG, the first one not empty", arguments: [
        ([:], DemoLanguage.english),
        (["LANG": "ko_KR.UTF-8"], .korean),
        (["LANG": "C.UTF-8"], .english),
        (["LC_ALL": "en_US.UTF-8", "LANG": "ko_KR.UTF-8"], .english),
        (["LC_ALL": "", "LC_MESSAGES": "ko_KR", "LANG": "en_US"], .korean),
        (["LC_MESSAGES": "C", "LANG": "ko_KR.UTF-8"], .english),
        (["LC_ALL": "ko", "LANG": "en_US"], .korean),
        (["LANG": "kok_IN"], .korean),
    ])
    func preferred(environment: [String: String], expected: DemoLanguage) {
        #expect(DemoLanguage.preferred(environment: environment) == expected)
    }

    @Test("every kind of phrase has a wording in every language, with a noun where English counts repeats")
    func everyKindWorded() {
        let sample = Args((1...12).map { "\($0)" })
        for kind in PhraseKind.allCases {
            for language in DemoLanguage.allCases {
                let wording = Wording.lookup(kind, in: language)
                #expect(wording != nil, "\(kind) has no \(language) wording")
                guard let wording else { continue }
                #expect(!wording.full(sample).isEmpty, "\(kind) in \(language)")
                if let brief = wording.brief { #expect(!brief(sample).isEmpty, "\(kind) brief in \(language)") }
            }
            guard let english = Wording.lookup(kind, in: .english), let korean = Wording.lookup(kind, in: .korean) else { continue }
            #expect(english.noun.isEmpty == korean.noun.isEmpty, "\(kind): a noun in one language only")
            #expect(english.brief == nil || korean.brief != nil, "\(kind): a one-line form in English only")
            // Korean text is Korean, unless the line is notation both languages write alike (a call, a tcpdump line).
            let englishText = english.full(sample), koreanText = korean.full(sample)
            #expect(hasHangul(koreanText) || koreanText == englishText, "\(kind): \(koreanText)")
            #expect(!hasHangul(englishText), "\(kind): Hangul in English")
        }
    }
}

/// The lines a narration's reader reads as sentences: everything but the
/// tables and pictures, which stay as Linux and the diagrams print them.
private func narrationLines(_ lines: [String]) -> [String] {
    let tableHeads = ["Active Internet connections", "Proto Recv-Q", "Kernel IP routing table", "Destination     Gateway",
                      "Address                  HWtype", "  device          frames sent", "tcp ", "udp ", "\t "]
    return lines.filter { line in !tableHeads.contains { line.hasPrefix($0) } }
}

@Suite("netstack demo: in Korean")
struct DemoKoreanTests {
    static func run(_ language: DemoLanguage, verbosity: Verbosity = .normal, width: Int? = nil) -> (DemoResult, [String]) {
        var options = DemoOptions()
        options.language = language
        options.verbosity = verbosity
        options.width = width
        var lines: [String] = []
        let result = Demo.run(options) { lines.append($0) }
        return (result, lines)
    }

    static let korean = run(.korean)

    @Test("the Korean run narrates the whole journey in the chapter's terms")
    func wholeJourney() {
        let (result, lines) = Self.korean
        #expect(result.problems.isEmpty)
        #expect(result.pageIntact)
        let text = lines.joined(separator: "\n")
        for expected in [
            "== 0. 전원을 켠다", "== 1. 브라우저가 소켓 라이브러리에 소켓을 요청한다", "== 2. 리졸버가 DNS 서버에",
            "== 3. connect(): 3-way 핸드셰이크", "== 4. HTTP GET", "== 5. 케이블의 잡음", "== 6. close()", "== 7. UDP",
            "디스크립터 3", "제어 정보", "리졸버", "기본 게이트웨이", "라우팅 테이블", "ARP 요청", "ARP 캐시", "MAC 헤더", "FCS 불일치",
            "인터럽트", "드라이버", "허브", "스위치", "시퀀스 번호", "ACK 번호", "윈도우", "슬라이딩 윈도우", "재전송 →", "중복 ACK",
            "TIME_WAIT", "MSS 1460", "— 같다 ✓", "빠진 것: 3",
        ] {
            #expect(text.contains(expected), "missing: \(expected)")
        }
    }

    @Test("no English sentence leaks into the Korean run (tables excepted)")
    func noEnglishLeaks() {
        let englishWords = [" the ", " is ", " and ", " of ", " from ", " more ", " to ", " with ", " its ", "(press Enter"]
        for line in narrationLines(Self.korean.1) {
            let leaked = englishWords.filter { line.lowercased().contains($0) }
            #expect(leaked.isEmpty, "English in: \(line)")
        }
    }

    @Test("the Korean run is the same run: same capture, same result, byte for byte")
    func sameRun() {
        let english = DemoRecording.standard
        #expect(Self.korean.0.capture == english.result.capture)
        #expect(Self.korean.0.networkCapture == english.result.networkCapture)
        let again = Self.run(.korean)
        #expect(again.1 == Self.korean.1)
    }

    @Test("wrapped to a terminal's width, every wrapped Korean line fits it in columns", arguments: [60, 80, 100])
    func wrapsToWidth(width: Int) {
        let (_, lines) = Self.run(.korean, width: width)
        // What the narrator wraps: event lines (after the clock), outcomes, summaries of
        // repeats, the steps' explanations, and their continuation lines. Headings,
        // tables, counters and the pictures are printed as they are, as in English.
        let eventContinuation = String(repeating: " ", count: 27)
        let wrapped = lines.filter { line in
            line.range(of: #"^ *[0-9]+\.[0-9]+s  "#, options: .regularExpression) != nil
                || line.hasPrefix("   ⇒ ") || line.hasPrefix("           …")
                || (line.hasPrefix(eventContinuation) && line.dropFirst(27).first != " ")
                || (line.hasPrefix("     ") && line.dropFirst(5).first.map { hasHangul(String($0)) } == true)
                || line.first.map { hasHangul(String($0)) } == true
        }
        #expect(wrapped.count > 100)
        for line in wrapped {
            #expect(displayWidth(line) <= width, "\(displayWidth(line)) columns: \(line)")
        }
    }
}

@Suite("netstack demo: --quiet")
struct DemoQuietTests {
    @Test("a quiet run fits one screen of 40 lines, in both languages", arguments: DemoLanguage.allCases)
    func fitsAScreen(language: DemoLanguage) {
        let (result, lines) = DemoKoreanTests.run(language, verbosity: .quiet)
        #expect(result.problems.isEmpty)
        #expect(lines.count <= 40, "\(lines.count) lines")
        // Every step's heading and outcome is still there, and one summary line per host.
        #expect(lines.filter { $0.hasPrefix("== ") }.count >= 10)
        #expect(lines.filter { $0.hasPrefix("   ⇒ ") }.count >= 12)
        for host in ["browser", "laptop", "router", "server", "dns"] {
            #expect(lines.filter { $0.hasPrefix("  \(host): ") && $0.contains("ARP") }.count == 1, "\(host)")
        }
    }

    @Test("the quiet summary counts each host's routes, ARP entries and sockets")
    func hostSummaries() {
        let (_, lines) = DemoKoreanTests.run(.english, verbosity: .quiet)
        #expect(lines.contains("  browser: 2 routes, ARP cache 1 entry, 1 socket (1 in TIME_WAIT)"))
        #expect(lines.contains("  router: 2 routes, ARP cache 3 entries, 0 sockets"))
        let (_, korean) = DemoKoreanTests.run(.korean, verbosity: .quiet)
        #expect(korean.contains("  router: 경로 2개, ARP 캐시 항목 3개, 소켓 0개"))
    }
}

@Suite("netstack demo: Korean particles")
struct KoreanParticleTests {
    @Test("a particle takes the form the word's last sound asks for", arguments: [
        ("192.0.2.1", "이", "가", "192.0.2.1이"),        // 일
        ("192.0.2.10", "이", "가", "192.0.2.10이"),      // 십
        ("198.51.100.53", "은", "는", "198.51.100.53은"), // 삼
        ("eth0", "으로", "로", "eth0으로"),               // 영
        ("eth1", "으로", "로", "eth1로"),                 // 일: ㄹ takes 로
        ("포트 2", "을", "를", "포트 2를"),               // 이
        ("hub → browser", "이", "가", "hub → browser가"),
        ("소켓", "을", "를", "소켓을"),
        ("스위치", "은", "는", "스위치는"),
        ("파일", "으로", "로", "파일로"),
        ("1%", "을", "를", "1%를"),                        // 퍼센트
        ("02:00:00:00:0a:0a", "은", "는", "02:00:00:00:0a:0a는"),
    ])
    func particle(word: String, withFinal: String, withoutFinal: String, expected: String) {
        #expect(josa(word, withFinal, withoutFinal) == expected)
    }
}
