import Foundation
import Testing
@testable import SysboxCore

/// Values that only looked valid.
@Suite struct StricterValueTests {
    @Test(arguments: [
        ("limits.processes", "+5", "digits only"), ("boot.stop.priority", "+1", "digits only"),
        ("limits.processes", "5000000", "out of range"), ("limits.processes", "99999999999999999999", "out of range"),
        ("boot.autostart.priority", "-2000000", "out of range"),
        ("limits.memory", "1048576.5", "whole number of bytes"), ("limits.memory", "1.0000001MiB", "whole number of bytes"),
        ("limits.memory", "2097152.5B", "whole number of bytes"), ("limits.memory", "99999999999EiB", "out of range"),
        ("snapshots.expiry", "1001y", "out of range"), ("snapshots.expiry", "99999999999999999999M", "out of range"),
        ("snapshots.expiry", "12001m", "out of range"), ("snapshots.expiry", "52179w", "out of range"),
        ("limits.processes", " 5", "spaces"), ("limits.processes", "5 ", "spaces"), ("security.nesting", "true\n", "spaces"),
        ("limits.memory", "\t1GiB", "spaces"), ("snapshots.pattern", " snap%d", "spaces"),
        ("security.nesting", "maybe", "expected true or false (also yes/no, on/off, 1/0)")
    ])
    func refused(_ key: String, _ value: String, _ reason: String) {
        let text = message { try InstanceConfig.validate(key, value) }
        #expect(text.contains(key) && text.contains(reason), "\(text) should mention \(reason)")
    }

    @Test func exactSizesAndLimitsStillPass() throws {
        #expect(try Values.bytes("1.5GiB") == 3 << 29)
        #expect(try Values.bytes("0.5KiB") == 512)
        #expect(try Values.bytes("1.5GB") == 1_500_000_000)
        #expect(try Values.bytes("2.000MiB") == 2 << 20)
        #expect(try Values.bytes("15EiB") == 15 << 60)
        #expect(try Values.integer("-5") == -5)
        try InstanceConfig.validate("snapshots.expiry", "1000y")
        try InstanceConfig.validate("snapshots.expiry", "12000m 52178w 365250d 8766000H 525960000M")
        try InstanceConfig.validate("user.note", "  spaced  ")
        try InstanceConfig.validate("environment.PAD", " x ")
        #expect(valueMessage { () throws(ValueError) in _ = try Values.integer("3", in: 1...2) } == "3 is out of range; expected an integer from 1 to 2")
    }
}
