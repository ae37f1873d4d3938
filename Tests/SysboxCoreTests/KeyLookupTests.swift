import Testing
@testable import SysboxCore

/// `InstanceConfig.validateLookup`: which keys `config get` and `profile get` read.
@Suite struct KeyLookupTests {
    @Test(arguments: ["limits.memory", "security.nesting", "user.role", "environment.TZ", "volatile.uuid", "snapshots.schedule"])
    func knownKeysAndFamiliesAreReadable(_ key: String) throws {
        try InstanceConfig.validateLookup(key)
    }

    @Test func unknownKeysAreRefusedWithASuggestion() {
        #expect(message { try InstanceConfig.validateLookup("limts.memory") } == "unknown config key limts.memory; did you mean limits.memory?")
        #expect(message { try InstanceConfig.validateLookup("bogus.key") } == "unknown config key bogus.key")
    }

    @Test func malformedKeysAreRefused() {
        #expect(message { try InstanceConfig.validateLookup("") }.contains("a config key cannot be empty"))
        #expect(message { try InstanceConfig.validateLookup("user.a b") }.hasPrefix("invalid config key \"user.a b\": it has a space at position 7"))
        #expect(message { try InstanceConfig.validateLookup("user.a\u{1b}") }.contains("control character"))
    }
}
