/// `word` followed by the form of a Korean particle its last sound takes:
/// `withFinal` after a final consonant (받침), `withoutFinal` after a vowel —
/// and, for 으로/로, 로 after ㄹ as well. Numbers are read the Korean way
/// (10 십, 100 백, 80 팔십, 0 영), Latin letters by how words usually end
/// (l → ㄹ; m, n → a final consonant; others a vowel: "server", "eth0" by its digit),
/// and % as 퍼센트.
/// O(length of the word).
func josa(_ word: String, _ withFinal: String, _ withoutFinal: String) -> String {
    let sound = finalSound(of: word)
    if withFinal == "으로" { return word + (sound == .none || sound == .rieul ? withoutFinal : withFinal) }
    return word + (sound == .none ? withoutFinal : withFinal)
}

/// The last sound of a word, as far as particles care.
private enum FinalSound {
    case none, rieul, other
}

private func finalSound(of word: String) -> FinalSound {
    // A per cent sign is read 퍼센트.
    if word.hasSuffix("%") { return .none }
    // Closing brackets, quotes and dots are not read: the word before them is.
    guard let last = word.unicodeScalars.last(where: { $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else {
        return .none
    }
    switch last.value {
    case 0xAC00...0xD7A3:
        let final = (last.value - 0xAC00) % 28
        return final == 0 ? .none : final == 8 ? .rieul : .other
    case 0x30...0x39:
        return numberSound(word)
    default:
        switch Character(last).lowercased() {
        case "l": return .rieul
        case "m", "n": return .other
        default: return .none
        }
    }
}

/// The last sound of the number that ends `word`, read in Sino-Korean.
private func numberSound(_ word: String) -> FinalSound {
    let digits = word.unicodeScalars.reversed().drop { !("0"..."9").contains($0) }.prefix { ("0"..."9").contains($0) }
    guard let last = digits.first else { return .none }
    if last != "0" {
        // 일 이 삼 사 오 육 칠 팔 구
        switch last {
        case "1", "7", "8": return .rieul
        case "3", "6": return .other
        default: return .none
        }
    }
    // 영, or 십, 백, 천, 만: all end in a consonant other than ㄹ.
    return .other
}
