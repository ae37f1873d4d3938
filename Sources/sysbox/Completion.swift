import ArgumentParser
import Foundation
import SysboxCore

/// Shell completion of the names sysbox knows (`sysbox --generate-completion-script bash|zsh|fish`
/// writes the script; the shell then runs `sysbox ---completion …` for a word, which lists them from
/// the state directory, $SYSBOX_DIR). Completion changes nothing: without a database there, or when it
/// cannot be read (not root), it offers nothing.
enum Completions {
    /// The manager of an existing state directory, without crash recovery (which may write).
    static func manager() -> Manager? {
        guard let dir = try? Paths.stateDirectory(environment: ProcessInfo.processInfo.environment),
            FileManager.default.isReadableFile(atPath: dir + "/sysbox.db")
        else { return nil }
        return try? CLI.manager(recover: false)
    }

    static func containers() -> [String] { (try? manager()?.listContainers().map(\.name)) ?? [] }
    static func profiles() -> [String] { (try? manager()?.listProfiles().map(\.name)) ?? [] }
    static func networks() -> [String] { (try? manager()?.listNetworks().map(\.name)) ?? [] }

    /// Image aliases and templates (what `launch`/`create` take).
    static func images() -> [String] {
        let aliases = (try? manager()?.listImages().flatMap(\.aliases)) ?? []
        return Array(Set(aliases + ["busybox", "debian"])).sorted()
    }

    /// `CONTAINER/`: the container part of a CONTAINER/PATH argument.
    static func containerPaths() -> [String] { containers().map { $0 + "/" } }

    /// The snapshots of the container named earlier on the line (the word before the one completed).
    static func snapshots(_ words: [String], _ index: Int) -> [String] {
        guard index >= 1, index - 1 < words.count, let m = manager() else { return [] }
        return (try? m.listSnapshots(words[index - 1]).map(\.name)) ?? []
    }
}

extension CompletionKind {
    /// The names of what a noun ("container", "profile", "network") names.
    static func names(of noun: String) -> CompletionKind {
        switch noun {
        case "container": .containers
        case "profile": .profiles
        case "network": .networks
        default: .default
        }
    }

    static var containers: CompletionKind { .custom { _, _, _ in Completions.containers() } }
    static var profiles: CompletionKind { .custom { _, _, _ in Completions.profiles() } }
    static var networks: CompletionKind { .custom { _, _, _ in Completions.networks() } }
    static var images: CompletionKind { .custom { _, _, _ in Completions.images() } }
    static var containerPaths: CompletionKind { .custom { _, _, _ in Completions.containerPaths() } }
    static var snapshots: CompletionKind { .custom { words, index, _ in Completions.snapshots(words, index) } }
}
