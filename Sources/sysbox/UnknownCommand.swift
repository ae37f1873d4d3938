import ArgumentParser
import SysboxCore

/// Unknown verbs, found before the argument parser sees them (it would report the verb and what follows
/// as "unexpected arguments"): `sysbox lanch busybox x` → "unknown command 'lanch'; did you mean
/// 'launch'?". Also below a verb group (`sysbox config edti web1` → "unknown command 'config edti'; did you mean 'config edit'?").
enum UnknownCommand {
    /// The message for `arguments` (without the program name) when a verb of a group is unknown; nil
    /// when every verb is known (or an option comes first: the parser reports those).
    static func message(_ arguments: [String], root: any ParsableCommand.Type = Sysbox.self) -> String? {
        var command = root
        var path = [root._commandName]
        for word in arguments {
            let configuration = command.configuration
            if word.hasPrefix("-") || configuration.subcommands.isEmpty || configuration.defaultSubcommand != nil { return nil }
            if path.count == 1 && word == "help" { return nil }
            if let next = configuration.subcommands.first(where: { $0._commandName == word || $0.configuration.aliases.contains(word) }) {
                command = next
                path.append(word)
                continue
            }
            let visible = configuration.subcommands.filter { $0.configuration.shouldDisplay }
            var names: [String] = []
            for sub in visible { names += [sub._commandName] + sub.configuration.aliases }
            let group = path.joined(separator: " ")
            let prefix = path.dropFirst().map { $0 + " " }.joined()
            if let fix = Suggest.closest(to: word, in: names) {
                return "unknown command \(quoted(prefix + word)); did you mean \(quoted(prefix + fix))?"
            }
            return "unknown command \(quoted(prefix + word)); '\(group) --help' lists the commands"
        }
        return nil
    }

    /// 'word', with control characters escaped (what was typed is shown, never interpreted).
    static func quoted(_ word: String) -> String { "'" + TerminalText.escaped(word, keepNewlines: false) + "'" }

    /// `exec NAME ls -l` without `--`: `-l` is taken for an option of exec. The parser's "Unknown option"
    /// message, with how to pass it to the command; nil for anything else.
    static func execOptionMessage(_ arguments: [String], parserMessage: String) -> String? {
        guard let verb = arguments.first, verb == Exec._commandName, !arguments.contains("--"),
            parserMessage.hasPrefix("Unknown option")
        else { return nil }
        let first = parserMessage.split(separator: "\n").first.map(String.init) ?? parserMessage
        let name = arguments.dropFirst().first { !$0.hasPrefix("-") }.map { TerminalText.escaped($0, keepNewlines: false) } ?? "web1"
        return "\(first) of exec; give the command after -- when it has options (sysbox exec \(name) -- ls -l)"
    }
}
