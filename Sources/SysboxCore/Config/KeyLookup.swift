extension InstanceConfig {
    /// Checks that `name` can be read with `config get` or `profile get`: a well-formed key
    /// (`validateKeyName`) that is a known key or belongs to a known family (`user.*`, `environment.*`,
    /// …). Unlike `validate`, any value and read-only keys (`volatile.*`) are fine: reading changes nothing.
    /// - Throws: `SysboxError(.invalidArgument)`: a malformed key, or an unknown one (with a suggestion).
    public static func validateLookup(_ name: String) throws {
        try validateKeyName(name)
        guard isKnown(name) else {
            throw SysboxError(.invalidArgument, "unknown config key \(name)\(suggestion(for: name))")
        }
    }
}
