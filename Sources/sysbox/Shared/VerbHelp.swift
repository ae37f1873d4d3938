import ArgumentParser

/// A subcommand's help: what `sysbox help NOUN VERB` prints above the usage.
struct VerbHelp {
    let abstract: String
    let discussion: String
    var aliases: [String] = []

    init(_ abstract: String, _ discussion: String, aliases: [String] = []) {
        self.abstract = abstract
        self.discussion = discussion
        self.aliases = aliases
    }

    func configuration(_ commandName: String) -> CommandConfiguration {
        CommandConfiguration(commandName: commandName, abstract: abstract, discussion: discussion, aliases: aliases)
    }
}

/// No options: the `Options` of a kind whose verb takes none.
struct NoOptions: ParsableArguments {}

/// `--expanded`/`-e` for `config show`: the container's config with its profiles applied.
struct ShowExpanded: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Show the config with the profiles applied.") var expanded = false
}

/// `--expanded`/`-e` for `config get`: the key looked up with the container's profiles applied.
struct GetExpanded: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Look the key up in the expanded config.") var expanded = false
}
