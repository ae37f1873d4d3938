/// "Did you mean …?" for unknown names: the closest candidate within a small edit distance.
public enum Suggest {
    /// The candidate closest to `word` by Levenshtein distance, if it is close enough to be a likely typo
    /// (at most 1 edit for short words, up to a third of the length for longer ones).
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let limit = max(1, min(4, word.count / 3))
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(word.lowercased(), candidate.lowercased())
            if d <= limit, d < (best?.1 ?? Int.max) { best = (candidate, d) }
        }
        return best?.0
    }

    /// Levenshtein edit distance (insertions, deletions, substitutions, adjacent transpositions).
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// "; did you mean X?" or "" when nothing is close. Only for the end of a message: followed by more
    /// text, use `hint(_:_:then:)`, which keeps it one clean sentence.
    static func hint(_ word: String, _ candidates: [String]) -> String {
        closest(to: word, in: candidates).map { "; did you mean \($0)?" } ?? ""
    }

    /// "; did you mean X? Then…" when a candidate is close, else "; then…": the suggestion ends its
    /// sentence, and `then` (written in lower case) starts the next one.
    public static func hint(_ word: String, _ candidates: [String], then rest: String) -> String {
        guard let fix = closest(to: word, in: candidates) else { return "; " + rest }
        return "; did you mean \(fix)? " + rest.prefix(1).uppercased() + rest.dropFirst()
    }
}
