/// The error every sysbox API throws to its callers: a code for programs, a one-line message for people
/// (naming the thing and the fix), and the underlying cause when there is one.
public struct SysboxError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; the CLI maps every code to a non-zero exit.
    public enum Code: String, Sendable {
        case invalidArgument, notFound, alreadyExists, inUse, conflict, unsupported, database, io, internalError
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    static func invalid(_ message: String, cause: (any Error & Sendable)? = nil) -> SysboxError {
        SysboxError(.invalidArgument, message, cause: cause)
    }

    /// The same kind of error with a message that says where it happened, keeping this one as its
    /// `cause`.
    func wrapped(_ message: String) -> SysboxError { SysboxError(code, message, cause: self) }
    static func notFound(_ message: String) -> SysboxError { SysboxError(.notFound, message) }
}
