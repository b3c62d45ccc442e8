import NetStackWire

// The page as one self-contained HTML file: markup, the data block, the
// style and the script inline, and a Content-Security-Policy that allows
// exactly that style and that script (by their SHA-256) and nothing else —
// no network, no other script, no plug-ins.

enum DemoHTMLPage {
    /// The page's bytes. The same input gives the same bytes. O(data size).
    static func make(_ input: PageInput) -> [UInt8] {
        let script = PageScript.source
        let style = PageStyle.source
        let words = Dictionary(PageWords.words(input.language), uniquingKeysWith: { first, _ in first })
        let json = PageData.json(input)
        let html = """
            <!DOCTYPE html>
            <html lang="\(input.language.rawValue)">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(contentSecurityPolicy(script: script, style: style))">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(input.title))</title>
            <style>\(style)</style>
            </head>
            <body>
            <header><h1>\(escape(input.title))</h1><p class="keys" data-ui="keys"></p></header>
            <main>
            <section id="journey" aria-labelledby="journey-h">
            <h2 id="journey-h" data-ui="journey"></h2>
            \(PagePictures.network(ipv6: input.ipv6))
            <div class="controls">
            <button id="previous" type="button" data-ui="previous"></button>
            <button id="next" type="button" data-ui="next"></button>
            <span id="hop-count" aria-live="polite"></span>
            <button id="hop-frame" type="button"></button>
            </div>
            <div id="hop-what"></div>
            <div id="step-title"></div>
            <ol id="narration" aria-live="polite"></ol>
            </section>
            <section id="frames" aria-labelledby="frames-h">
            <h2 id="frames-h" data-ui="frames"></h2>
            <div class="listbox">
            <table id="frame-table"><thead><tr><th data-ui="no"></th><th data-ui="time"></th><th data-ui="source"></th><th data-ui="destination"></th><th data-ui="protocol"></th><th data-ui="info"></th></tr></thead>
            <tbody id="frame-rows"></tbody></table>
            </div>
            <div class="split">
            <div><h2 id="dissection-title" data-ui="dissection"></h2><div id="tree"></div></div>
            <div><h2 data-ui="bytes"></h2><pre id="hex"></pre></div>
            </div>
            </section>
            <section id="ladder" aria-labelledby="ladder-h">
            <h2 id="ladder-h" data-ui="ladder"></h2>
            <div id="ladder-box"><svg id="ladder-svg" viewBox="0 0 500 100" role="img" aria-label="\(escape(words["ladder"] ?? ""))"></svg></div>
            </section>
            <section id="tables" aria-labelledby="tables-title">
            <h2 id="tables-title" data-ui="tables"></h2>
            <div id="tables-body"></div>
            </section>
            <section id="signal" aria-labelledby="signal-h">
            <h2 id="signal-h" data-ui="signal"></h2>
            <div id="signal-box">\(PagePictures.signal(input.signalBytes))</div>
            </section>
            </main>
            <script type="application/json" id="demo-data">\(json)</script>
            <script>\(script)</script>
            </body>
            </html>

            """
        return Array(html.utf8)
    }

    /// Nothing may load or connect; only the page's own style and script (by hash) run.
    static func contentSecurityPolicy(script: String, style: String) -> String {
        "default-src 'none'; script-src '\(hashSource(script))'; style-src '\(hashSource(style))'; "
            + "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
    }

    /// "sha256-BASE64" of the UTF-8 text, as CSP writes a hash source.
    static func hashSource(_ text: String) -> String {
        var hash = SHA256()
        hash.update(Array(text.utf8))
        return "sha256-" + base64(hash.finalize())
    }

    /// Standard base64 with padding (RFC 4648 §4).
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var text = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * $1.offset) }
            for position in 0..<4 {
                text.append(position <= chunk.count ? alphabet[Int(value >> (18 - 6 * position) & 63)] : "=")
            }
            index += 3
        }
        return text
    }

    /// Text safe inside HTML elements and attribute values.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
