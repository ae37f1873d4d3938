import Foundation
import Testing
@testable import SysboxCore

/// The message of the `SysboxError` that `body` throws (a failure when it throws none).
func message(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch let error as SysboxError {
        #expect(!error.message.contains("\n"), "not one line: \(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.contains("?;"), "doubled punctuation: \(error.message)", sourceLocation: sourceLocation)
        #expect(
            !error.message.unicodeScalars.contains { Names.isControl($0) }, "raw control character: \(error.message)",
            sourceLocation: sourceLocation)
        return error.message
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
    return ""
}

/// The message of the `ValueError` that `body` throws.
func valueMessage(_ body: () throws(ValueError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch {
        return error.message
    }
    return ""
}
