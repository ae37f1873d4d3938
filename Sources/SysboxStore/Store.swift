import Foundation
import GRDB
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Why the state database could not be used. Each case names the file and, where there is one, the fix.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The state directory exists but is not a directory, or cannot be created.
    case badStateDirectory(path: String, reason: String)
    /// The file is not an SQLite database (SQLITE_NOTADB) or is damaged (SQLITE_CORRUPT).
    case corrupt(path: String, reason: String)
    /// Another process held the write lock longer than the busy timeout (SQLITE_BUSY).
    case locked(path: String, seconds: Double)
    /// The database has migrations this build does not know: it was written by a newer sysbox.
    case newerSchema(path: String, unknown: [String])
    /// The file cannot be opened, read or written (permissions, read-only filesystem, I/O error).
    case unusable(path: String, reason: String)
    /// A bug in sysbox, not in the database: e.g. a record used as stored that was never inserted.
    case internalError(String)

    public var description: String {
        switch self {
        case let .badStateDirectory(path, reason):
            return "state directory \(path) cannot be used: \(reason); set SYSBOX_DIR to a writable directory"
        case let .corrupt(path, reason):
            return "database \(path) is damaged (\(reason)); move it aside and restore a backup, or remove it to start empty"
        case let .locked(path, seconds):
            return "database \(path) is locked by another process (waited \(Self.format(seconds)) s); retry, or find the holder with: fuser \(path)"
        case let .newerSchema(path, unknown):
            return "database \(path) was written by a newer sysbox (unknown schema versions: \(unknown.joined(separator: ", "))); upgrade sysbox"
        case let .unusable(path, reason):
            return "database \(path) cannot be used: \(reason)"
        case let .internalError(message):
            return "internal error: \(message)"
        }
    }

    private static func format(_ s: Double) -> String {
        s == s.rounded() ? String(Int(s)) : String(s)
    }

    /// Maps an SQLite error on `path` to a `StoreError`, or nil when it is not a storage-level failure
    /// (constraint violations and SQL errors stay `DatabaseError`s for the caller).
    public static func from(_ error: DatabaseError, path: String, timeout: Double) -> StoreError? {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .corrupt(path: path, reason: error.message ?? "\(error.resultCode)")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .locked(path: path, seconds: timeout)
        case .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_AUTH:
            return .unusable(path: path, reason: error.message ?? "\(error.resultCode)")
        default:
            return nil
        }
    }
}

/// The sysbox state database: `$SYSBOX_DIR/sysbox.db`, SQLite in WAL mode with foreign keys on and a
/// busy timeout, migrated to the newest schema on open.
///
/// Every write runs in a `BEGIN IMMEDIATE` transaction, so concurrent `sysbox` processes queue on the
/// write lock (up to the busy timeout) instead of failing with "database is locked" on a read-to-write
/// upgrade. Migrations run under an exclusive `flock(2)` on `$SYSBOX_DIR/sysbox.lock`, so two processes
/// opening a new state directory at once do not both create the schema.
public final class Store: Sendable {
    /// Path of the database file.
    public let path: String
    /// Seconds a writer waits for the lock before `StoreError.locked`.
    public let busyTimeout: Double
    /// One connection: a sysbox command is short-lived and single-threaded, and one SQLite connection
    /// opens faster than a pool's writer plus readers. WAL still lets other processes read while one writes.
    private let pool: DatabaseQueue
    private static let logger = Logger(label: "sysbox.store")

    /// Opens (creating if needed) the database in `directory` and migrates it.
    /// - Parameters:
    ///   - directory: the state directory; created with mode 0711 if missing.
    ///   - busyTimeout: seconds to wait for another process's write lock.
    ///   - upTo: stop migrating at this version (tests only).
    /// - Throws: `StoreError` naming the file and the fix.
    public init(directory: String, busyTimeout: Double = 10, upTo: String? = nil) throws {
        try Self.prepareDirectory(directory)
        let path = (directory as NSString).appendingPathComponent("sysbox.db")
        self.path = path
        self.busyTimeout = busyTimeout
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw StoreError.unusable(path: path, reason: "it is a directory, not a file")
        }

        // Opening and migrating happen under a shared flock; a migration takes it exclusively, so no
        // process opens or reads a half-made schema while another creates it.
        let lockPath = (directory as NSString).appendingPathComponent("sysbox.lock")
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else {
            throw StoreError.badStateDirectory(path: directory, reason: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { close(lockFD) }
        // A database not yet in WAL mode (new, or made elsewhere) is switched by the first opener, which
        // needs SQLite's exclusive lock: two openers both holding a shared lock while waiting for it
        // would only time out. So that first open is exclusive here.
        let wal = Self.isWAL(path)
        Self.flockRetrying(lockFD, wal ? LOCK_SH : LOCK_EX)

        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(busyTimeout)
        config.label = "sysbox"
        // WAL is a property of the file: switched once, here, and never again. GRDB's own WAL set-up
        // (`journalMode = .wal`) writes a table into every fresh WAL file, so every command, `list`
        // included, would commit a transaction (fsync) and checkpoint it at close (fsync again).
        config.journalMode = .default
        do {
            pool = try DatabaseQueue(path: path, configuration: config)
            try pool.writeWithoutTransaction { db in
                if !wal {
                    let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                    guard mode == "wal" else { throw StoreError.unusable(path: path, reason: "SQLite cannot switch it to WAL mode (journal_mode is \(mode ?? "unknown"))") }
                }
                // FULL: a commit survives power loss (WAL's usual NORMAL may lose the last commits).
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
        } catch let error as DatabaseError {
            throw StoreError.from(error, path: path, timeout: busyTimeout)
                ?? StoreError.unusable(path: path, reason: error.message ?? "\(error)")
        }
        chmod(path, 0o600)
        try migrate(lockFD: lockFD, upTo: upTo)
    }

    /// Whether the file is an SQLite database in WAL mode (header bytes 18 and 19 are 2).
    static func isWAL(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 20)) ?? Data())
        return header.count == 20 && header[18] == 2 && header[19] == 2
    }

    private static func flockRetrying(_ fd: Int32, _ operation: Int32) {
        while flock(fd, operation) != 0 && errno == EINTR {}
    }

    private static func prepareDirectory(_ directory: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw StoreError.badStateDirectory(path: directory, reason: "it is not a directory")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        } catch {
            throw StoreError.badStateDirectory(path: directory, reason: "cannot create it (\(error.localizedDescription))")
        }
    }

    private func migrate(lockFD: Int32, upTo: String?) throws {
        let migrator = Schema.migrator()
        try mapErrors {
            let state = try pool.read { db in
                (try migrator.hasBeenSuperseded(db), try migrator.hasCompletedMigrations(db), try migrator.appliedIdentifiers(db))
            }
            if state.0 {
                throw StoreError.newerSchema(path: path, unknown: state.2.filter { !Schema.versions.contains($0) }.sorted())
            }
            if state.1 && upTo == nil { return }
            // Shared to exclusive: let go first, so two processes that both want to migrate never wait
            // for each other's shared lock.
            Self.flockRetrying(lockFD, LOCK_UN)
            Self.flockRetrying(lockFD, LOCK_EX)
            // A database with data gets a copy before its schema changes (`sysbox.db.pre-<version>`), so a
            // failed upgrade can be undone by hand.
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            if let last = Schema.versions.last(where: applied.contains), try pool.read({ db in try !migrator.hasCompletedMigrations(db) }) {
                let backup = path + ".pre-" + (Schema.versions.first { !applied.contains($0) } ?? last)
                if !FileManager.default.fileExists(atPath: backup) {
                    try pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [backup]) }
                    chmod(backup, 0o600)
                }
            }
            if let upTo {
                try migrator.migrate(pool, upTo: upTo)
            } else {
                try migrator.migrate(pool)
            }
            Self.logger.debug("database migrated", metadata: ["path": "\(path)"])
        }
    }

    /// Runs `body` with storage-level SQLite errors turned into `StoreError`s.
    private func mapErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            if let mapped = StoreError.from(error, path: path, timeout: busyTimeout) { throw mapped }
            throw error
        }
    }

    /// Reads in a snapshot of the database (WAL readers never wait for writers).
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try mapErrors { try pool.read(body) }
    }

    /// Writes in one `BEGIN IMMEDIATE` transaction: all of `body` or nothing is committed. A throw from
    /// `body` rolls back and is rethrown.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try mapErrors {
            try pool.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw StoreError.unusable(path: path, reason: "transaction produced no result") }
                return result
            }
        }
    }

    /// The schema versions applied to this database, in order.
    public func appliedVersions() throws -> [String] {
        try read { db in try Schema.migrator().appliedIdentifiers(db).sorted() }
    }
}
