import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Debian with debootstrap (Debian package `debootstrap`): `--variant` (default minbase) plus the
/// template's `packages`, from `mirror` (default: the host's APT configuration). Then what a system
/// container needs: systemd-networkd enabled, an empty machine-id (each container renders its own),
/// no package caches.
struct DebootstrapBuilder: ImageBuilder {
    /// Where debootstrap may be installed (tests point this elsewhere).
    var candidates = ["/usr/sbin/debootstrap", "/sbin/debootstrap", "/usr/bin/debootstrap"]

    func build(into rootfs: String, manifest: TemplateManifest, progress: (String) -> Void) throws {
        let options = manifest.options ?? [:]
        guard let debootstrap = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SysboxError(.unsupported, "template \(manifest.name) needs debootstrap; install the Debian package debootstrap")
        }
        let suite = options["suite"] ?? "bookworm"
        guard let first = suite.first, first.isASCII, first.isLetter,
            suite.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") })
        else {
            throw SysboxError.invalid("template \(manifest.name): invalid suite \(Names.quote(suite))")
        }
        let mirror = try Self.mirror(options["mirror"], suite: suite, template: manifest.name)
        // Packages run their maintainer scripts as root here: the Release file must be signed by Debian.
        let keyring = options["keyring"] ?? "/usr/share/keyrings/debian-archive-keyring.gpg"
        guard FileManager.default.isReadableFile(atPath: keyring) else {
            throw SysboxError(
                .unsupported, "template \(manifest.name) checks Debian's signatures with \(keyring), which is missing; install the Debian package debian-archive-keyring")
        }
        let variant = options["variant"] ?? "minbase"
        let packages = options["packages"] ?? ""
        for word in [variant, packages] where !word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.,:".contains($0)) }) {
            throw SysboxError.invalid("template \(manifest.name): invalid package list or variant \(Names.quote(word))")
        }
        // debootstrap runs as PID 1 of a pid namespace of its own, in a private mount namespace, under
        // unshare --kill-child, itself under setpriv --pdeathsig: when sysbox dies, unshare dies, its
        // child dies, and with it every process of the build (wget, dpkg…) and every mount it made.
        var args: [String] = []
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") { args += ["/usr/bin/setpriv", "--pdeathsig", "KILL"] }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") {
            args += ["/usr/bin/unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child=KILL"]
        }
        args += [debootstrap, "--variant=\(variant)", "--keyring=\(keyring)", "--force-check-gpg"]
        if !packages.isEmpty { args.append("--include=\(packages)") }
        args += [suite, rootfs, mirror]
        progress("debootstrap \(suite) from \(mirror)")
        var tracker = DebootstrapProgress(archives: rootfs + "/var/cache/apt/archives")
        try Self.runStreaming(args, what: "debootstrap \(suite) from \(mirror)") { line in
            if let text = tracker.line(line) { progress(text) }
        }
        progress("configuring")
        try configure(rootfs)
    }

    /// The mirror: the given one, else the first `deb` source of the host's APT configuration that
    /// serves `suite`, else its first main archive (deb822 `.sources` files and one-line
    /// `sources.list` entries).
    static func mirror(_ given: String?, suite: String, template: String = "debian", aptDirectory: String = "/etc/apt") throws -> String {
        if let given, !given.isEmpty {
            guard let url = URL(string: given), ["http", "https", "file"].contains(url.scheme ?? "") else {
                throw SysboxError.invalid("mirror \(Names.quote(given)) is not an http, https or file URL (e.g. http://deb.debian.org/debian)")
            }
            return given
        }
        let fm = FileManager.default
        var candidates: [(uri: String, suites: [String])] = []
        let dir = aptDirectory + "/sources.list.d"
        for file in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where file.hasSuffix(".sources") {
            guard let text = try? String(contentsOfFile: dir + "/" + file, encoding: .utf8) else { continue }
            for stanza in text.components(separatedBy: "\n\n") {
                var fields: [String: String] = [:]
                for line in stanza.split(separator: "\n") where !line.hasPrefix("#") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    fields[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                // Debian's own archive: a `main` component (not Docker's `stable`, not a PPA's).
                guard (fields["types"] ?? "").split(separator: " ").contains("deb"), fields["enabled"]?.lowercased() != "no",
                    (fields["components"] ?? "").split(separator: " ").contains("main"),
                    let uris = fields["uris"]
                else { continue }
                let suites = (fields["suites"] ?? "").split(separator: " ").map(String.init)
                for uri in uris.split(separator: " ") where Self.usableURI(String(uri)) { candidates.append((String(uri), suites)) }
            }
        }
        let listFiles = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted().filter { $0.hasSuffix(".list") }.map { dir + "/" + $0 }
        for file in [aptDirectory + "/sources.list"] + listFiles {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                var words = line.split(separator: " ").map(String.init)
                guard words.first == "deb" else { continue }
                words.removeFirst()
                if words.first?.hasPrefix("[") == true { words = Array(words.drop { !$0.hasSuffix("]") }.dropFirst()) }
                if words.count >= 3, words.dropFirst(2).contains("main"), Self.usableURI(words[0]) { candidates.append((words[0], [words[1]])) }
            }
        }
        // The source that serves the suite, else the main archive of another release (a suite without
        // -updates/-security/-backports: the same archive serves the other releases).
        guard
            let found = candidates.first(where: { $0.suites.contains(suite) })
                ?? candidates.first(where: { $0.suites.contains { !$0.contains("-") && !$0.contains("/") } })
        else {
            throw SysboxError.notFound("no APT source for Debian \(suite) in \(aptDirectory); give a mirror: sysbox image build \(template) --mirror http://MIRROR/debian")
        }
        return found.uri
    }

    static func usableURI(_ uri: String) -> Bool {
        ["http", "https", "file"].contains(URL(string: uri)?.scheme ?? "")
    }

    /// Runs a program, giving each line of its output to `line`; on failure the error carries its last
    /// `E:` line.
    static func runStreaming(_ args: [String], what: String, line: (String) -> Void) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: args[0])
        process.arguments = Array(args.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        env["DEBIAN_FRONTEND"] = "noninteractive"
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw SysboxError(.io, "\(what): cannot run \(args[0]): \(error.localizedDescription)", cause: error)
        }
        var lastError = ""
        var buffer = Data()
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let text = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                if text.hasPrefix("E: ") || text.hasPrefix("W: Failure") { lastError = String(text.dropFirst(3)) }
                line(text)
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SysboxError(.io, "\(what) failed (exit status \(process.terminationStatus))\(lastError.isEmpty ? "" : ": \(lastError)")")
        }
    }

    /// After debootstrap: networkd enabled, machine-id emptied, caches and logs dropped.
    func configure(_ rootfs: String) throws {
        let fm = FileManager.default
        let units = [("multi-user.target.wants", "systemd-networkd.service"), ("sockets.target.wants", "systemd-networkd.socket")]
        for (dir, unit) in units {
            let path = "\(rootfs)/etc/systemd/system/\(dir)"
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            unlink("\(path)/\(unit)")
            try fm.createSymbolicLink(atPath: "\(path)/\(unit)", withDestinationPath: "/lib/systemd/system/\(unit)")
        }
        unlink("\(rootfs)/etc/systemd/system/dbus-org.freedesktop.network1.service")
        try fm.createSymbolicLink(
            atPath: "\(rootfs)/etc/systemd/system/dbus-org.freedesktop.network1.service",
            withDestinationPath: "/lib/systemd/system/systemd-networkd.service")
        // Each container gets its own machine-id, rendered at start; D-Bus reads the same one.
        guard fm.createFile(atPath: "\(rootfs)/etc/machine-id", contents: Data(), attributes: [.posixPermissions: 0o444]) else {
            throw SysboxError(.io, "cannot write \(rootfs)/etc/machine-id")
        }
        try fm.createDirectory(atPath: "\(rootfs)/var/lib/dbus", withIntermediateDirectories: true)
        unlink("\(rootfs)/var/lib/dbus/machine-id")
        try fm.createSymbolicLink(atPath: "\(rootfs)/var/lib/dbus/machine-id", withDestinationPath: "/etc/machine-id")
        for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
            for entry in (try? fm.contentsOfDirectory(atPath: "\(rootfs)/\(dir)")) ?? [] where entry != "partial" && entry != "lock" {
                try? fm.removeItem(atPath: "\(rootfs)/\(dir)/\(entry)")
            }
        }
        try? fm.removeItem(atPath: "\(rootfs)/var/log/bootstrap.log")
        try? fm.removeItem(atPath: "\(rootfs)/var/cache/debconf/templates.dat-old")
    }
}

/// The progress of a debootstrap run, from its `I: VERB PACKAGE…` lines: the step, the packages done of
/// the total (known once retrieval is done: every later step goes over the packages retrieved), and
/// while retrieving, the bytes fetched (the `.deb` files in the target's archive cache) and the rate.
struct DebootstrapProgress {
    static let verbs = ["Retrieving", "Validating", "Extracting", "Unpacking", "Configuring", "Installing"]
    /// The target's `var/cache/apt/archives` (nil: no byte count).
    var archives: String?
    var started: Date
    private var retrieved = 0
    private var done: [String: Int] = [:]

    init(archives: String?, started: Date = Date()) {
        self.archives = archives
        self.started = started
    }

    /// The progress text of one output line; nil for lines that are not a step.
    mutating func line(_ text: String, now: Date = Date(), bytes measured: UInt64? = nil) -> String? {
        guard let verb = Self.verbs.first(where: { text.hasPrefix("I: \($0) ") }) else { return nil }
        let rest = text.dropFirst(3 + verb.count + 1)
        let package = rest.split(separator: " ").first.map(String.init) ?? String(rest)
        let name = package.hasSuffix("...") ? String(package.dropLast(3)) : package
        if verb == "Retrieving" {
            retrieved += 1
            guard let bytes = measured ?? archives.map(Self.size(of:)) else { return "retrieving \(retrieved): \(name)" }
            let seconds = max(now.timeIntervalSince(started), 0.001)
            return "retrieving \(retrieved): \(name) (\(humanBytes(bytes)), \(humanBytes(UInt64(Double(bytes) / seconds)))/s)"
        }
        let n = (done[verb] ?? 0) + 1
        done[verb] = n
        return "\(verb.lowercased()) \(retrieved > 0 ? "\(min(n, retrieved))/\(retrieved)" : "\(n)"): \(name)"
    }

    /// The bytes of the files directly in `directory` (0 when it is not there yet).
    static func size(of directory: String) -> UInt64 {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var total: UInt64 = 0
        for name in names {
            var st = stat()
            if lstat(directory + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += UInt64(st.st_size) }
        }
        return total
    }
}
