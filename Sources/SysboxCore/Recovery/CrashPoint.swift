import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// Test hook: `SYSBOX_TEST_CRASH_AT=<point>` ends the process (as kill -9 would) when an operation
/// reaches `point`, so tests can check that the next command finishes or undoes it.
enum CrashPoint {
    static func reach(_ point: String) {
        if ProcessInfo.processInfo.environment["SYSBOX_TEST_CRASH_AT"] == point { _exit(137) }
    }
}
