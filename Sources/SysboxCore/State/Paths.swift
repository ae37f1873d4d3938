import Foundation

/// Where sysbox keeps its state and finds its shipped files.
public enum Paths {
    /// The default state directory when `SYSBOX_DIR` is not set.
    public static let defaultStateDirectory = "/var/lib/sysbox"

    /// `$SYSBOX_DIR` made absolute (relative to the working directory), or `/var/lib/sysbox`.
    /// - Throws: `SysboxError(.invalidArgument)` when `SYSBOX_DIR` is set but empty.
    public static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        guard let dir = environment["SYSBOX_DIR"] else { return defaultStateDirectory }
        guard !dir.isEmpty else {
            throw SysboxError.invalid("SYSBOX_DIR is set but empty; unset it to use \(defaultStateDirectory), or set it to a directory")
        }
        if dir.hasPrefix("/") { return dir }
        return URL(fileURLWithPath: dir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .standardizedFileURL.path
    }

    /// The directory holding `Profiles/` and `Templates/`:
    /// 1. `$SYSBOX_DATA_DIR` when set;
    /// 2. run from a checkout (`swift build`): the first parent of the executable's directory that holds
    ///    `Package.swift` and `Profiles/`;
    /// 3. installed: `PREFIX/share/sysbox` for an executable in `PREFIX/bin` or
    ///    `PREFIX/libexec/sysbox` (where `scripts/install` puts sysbox-manager).
    /// Returns nil when none of them exists.
    public static func dataDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: String? = nil
    ) -> String? {
        let fm = FileManager.default
        if let dir = environment["SYSBOX_DATA_DIR"], !dir.isEmpty { return dir }
        let exe = executable ?? (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent().standardizedFileURL
        for prefix in [dir.deletingLastPathComponent(), dir.deletingLastPathComponent().deletingLastPathComponent()] {
            let installed = prefix.appendingPathComponent("share/sysbox")
            if fm.fileExists(atPath: installed.appendingPathComponent("Profiles").path) { return installed.path }
        }
        while dir.path != "/" {
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                fm.fileExists(atPath: dir.appendingPathComponent("Profiles").path)
            {
                return dir.path
            }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }
}
