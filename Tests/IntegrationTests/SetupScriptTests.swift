import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// scripts/setup.sh.
@Suite struct SetupScriptTests {
    /// scripts/setup.sh reports installs on stderr, so `scripts/sysbox … > file` gets only sysbox's output.
    @Test func setupProgressGoesToStderr() throws {
        let s = try Sandbox()
        let bin = s.root + "/fakebin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for (name, body) in [("dpkg-query", "exit 1"), ("apt-get", "echo \"apt-get $*\""), ("id", "echo 0")] {
            let path = bin + "/" + name
            try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        let r = try runProcess(
            "/bin/bash", ["-c", "source \(repositoryRoot)/scripts/setup.sh && sysbox_install_packages"],
            env: ["PATH": bin + ":/usr/bin:/bin"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "", "stdout: \(r.stdout)")
        #expect(r.stderr.contains("Installing Debian packages: libsqlite3-dev bsdutils"))
        #expect(r.stderr.contains("apt-get install"))
    }
}
