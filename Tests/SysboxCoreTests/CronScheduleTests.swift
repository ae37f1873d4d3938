import Foundation
import Testing
@testable import SysboxCore

/// `snapshots.schedule` entries are separated by ", " only.
@Suite struct ScheduleSeparatorTests {
    @Test func commasInsideFieldsAreLists() throws {
        let halfHourly = try CronSchedule.parse("0,30 * * * *")
        #expect(halfHourly.entries.count == 1 && halfHourly.entries[0].minutes == [0, 30])
        let twiceAWeek = try CronSchedule.parse("0 3 * * 1,5")
        #expect(twiceAWeek.entries.count == 1 && twiceAWeek.entries[0].daysOfWeek == [1, 5])
        let several = try CronSchedule.parse("@daily, @hourly, 0,30 9 * * mon,fri")
        #expect(several.entries.count == 3)
        #expect(several.entries[2].minutes == [0, 30] && several.entries[2].daysOfWeek == [1, 5])
        try InstanceConfig.validate("snapshots.schedule", "0,30 * * * *")
        try InstanceConfig.validate("snapshots.schedule", "0 3 * * 1,5")
        try InstanceConfig.validate("snapshots.schedule", "@daily, @hourly")
    }

    @Test(arguments: [" @daily", "@daily ", "@daily,@hourly", "@daily,  @hourly", "@daily, ", "0 3 * * *,@daily", ", @daily"])
    func refused(_ text: String) {
        #expect(throws: ValueError.self) { try CronSchedule.parse(text) }
        #expect(message { try InstanceConfig.validate("snapshots.schedule", text) }.contains("snapshots.schedule"))
    }
}
