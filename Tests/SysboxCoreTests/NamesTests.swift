import Testing
@testable import SysboxCore

@Suite struct NamesTests {
    @Test(arguments: ["web1", "a", "web-1", "Web1", "x1-y2-z3", String(repeating: "a", count: 63), "1web"])
    func validContainerNames(_ name: String) {
        #expect(Names.problem(name, as: .container) == nil)
    }

    @Test(arguments: [
        ("", "empty"), (String(repeating: "a", count: 64), "64 characters"), ("web_1", "'_'"), ("web 1", "space"),
        ("a/b", "'/'"), ("..", "'.'"), ("-web", "start"), ("web-", "end with"), ("123", "number"),
        ("web\u{1}", "control character"), ("wéb", "'é'"), ("a.b", "'.'")
    ])
    func invalidContainerNames(_ name: String, _ reason: String) {
        let problem = Names.problem(name, as: .container)
        #expect(problem != nil)
        #expect(problem?.contains(reason) == true, "\(problem ?? "nil") should mention \(reason)")
    }

    /// The ASCII fast path of isControl says what the Unicode general category says.
    @Test func controlCharactersAgreeWithUnicode() throws {
        for value in UInt32(0)...0x2100 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let category = scalar.properties.generalCategory
            let expected = category == .control || category == .lineSeparator || category == .paragraphSeparator
            #expect(Names.isControl(scalar) == expected, "U+\(String(value, radix: 16))")
        }
    }

    @Test func profileAndSnapshotNamesAllowDotsAndUnderscores() {
        #expect(Names.problem("snapshots-daily", as: .profile) == nil)
        #expect(Names.problem("my_profile.v2", as: .profile) == nil)
        #expect(Names.problem("snap_2026.11.27", as: .snapshot) == nil)
        #expect(Names.problem(".hidden", as: .profile) != nil)
        #expect(Names.problem("..", as: .snapshot) != nil)
        #expect(Names.problem("a/b", as: .snapshot) != nil)
        #expect(Names.problem("a b", as: .profile) != nil)
    }

    @Test func errorIsOneLineAndNamesTheKind() throws {
        do {
            try Names.validate("bad\nname", as: .container)
            Issue.record("accepted a newline")
        } catch let error as SysboxError {
            #expect(error.code == .invalidArgument)
            #expect(!error.message.contains("\n"))
            #expect(error.message.hasPrefix("invalid container name \"bad\\x0aname\""))
        }
    }

    @Test func networkNamesFitAnInterfaceName() {
        #expect(Names.problem("sysboxbr0", as: .network) == nil)
        #expect(Names.problem("a-very-long-bridge", as: .network) != nil)
    }
}
