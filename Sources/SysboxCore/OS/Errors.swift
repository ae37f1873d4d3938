import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// errno and errors as sysbox messages show them.
extension Host {
    /// "ENOENT (No such file or directory)"
    static func errnoText(_ code: Int32) -> String {
        "\(errnoName(code)) (\(String(cString: strerror(code))))"
    }

    static func errnoName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", E2BIG: "E2BIG",
            ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
            EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV",
            ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENOSPC: "ENOSPC", EROFS: "EROFS",
            EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ELOOP: "ELOOP", ENOTEMPTY: "ENOTEMPTY",
            EPROTO: "EPROTO", EOPNOTSUPP: "EOPNOTSUPP", ETXTBSY: "ETXTBSY"
        ]
        return names[code] ?? "errno \(code)"
    }

    /// One line for any error: a `SysboxError`'s message, or for Foundation's file errors the POSIX errno
    /// underneath ("ENOSPC (No space left on device)") with the file it concerns.
    static func describe(_ error: Error) -> String {
        if let e = error as? SysboxError { return e.message }
        if let c = error as? CocoaError {
            let file = (c.userInfo["NSDestinationFilePath"] as? String) ?? c.filePath
            if let posix = c.underlying as? POSIXError {
                return (file.map { "\($0): " } ?? "") + errnoText(posix.code.rawValue)
            }
            if let ns = c.underlying.map({ $0 as NSError }), ns.domain == NSPOSIXErrorDomain {
                return (file.map { "\($0): " } ?? "") + errnoText(Int32(ns.code))
            }
        }
        if let posix = error as? POSIXError { return errnoText(posix.code.rawValue) }
        let ns = error as NSError
        var underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        if ns.domain == NSPOSIXErrorDomain { underlying = ns }
        let file = (ns.userInfo["NSDestinationFilePath"] as? String) ?? (ns.userInfo[NSFilePathErrorKey] as? String)
        if let posix = underlying, posix.domain == NSPOSIXErrorDomain {
            return (file.map { "\($0): " } ?? "") + errnoText(Int32(posix.code))
        }
        return ns.localizedDescription
    }
}
