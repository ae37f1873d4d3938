// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "sysbox",
    platforms: [.macOS(.v14)],
    products: [
        // What users run: a small static C program that runs a plain `sysbox exec` itself and execs
        // sysbox-manager (the Swift CLI) for everything else.
        .executable(name: "sysbox", targets: ["SysboxFront"]),
        .executable(name: "sysbox-manager", targets: ["sysbox"]),
        // For Benchmarks/Micro (a package of its own that depends on this one by path).
        .library(name: "SysboxNetlink", targets: ["SysboxNetlink"]),
        .library(name: "SysboxStore", targets: ["SysboxStore"]),
        .library(name: "SysboxCore", targets: ["SysboxCore"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2")
    ],
    targets: [
        // The only C: the window between clone/fork and execve, GNU-only prototypes, kernel constants.
        // libseccomp builds the containers' seccomp filter (libseccomp-dev; its static libseccomp.a
        // goes into the static front).
        .target(name: "CSysbox", linkerSettings: [.linkedLibrary("seccomp")]),
        // rtnetlink client: links, bridges, veth pairs, addresses, routes. Depends only on CSysbox (kernel headers).
        .target(name: "SysboxNetlink", dependencies: ["CSysbox"]),
        // GRDB schema (numbered migrations) and records. Depends on nothing of ours.
        .target(
            name: "SysboxStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        // The manager: config keys, profiles, containers, output formats.
        .target(
            name: "SysboxCore",
            dependencies: [
                "CSysbox",
                "SysboxNetlink",
                "SysboxStore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        // The `sysbox` command: the exec fast path (CSysbox's fastexec.c), else exec of sysbox-manager.
        // Linked statically (-static-executable: no dynamic loader, no Swift runtime start-up to pay).
        .executableTarget(
            name: "SysboxFront",
            dependencies: ["CSysbox"],
            path: "Sources/sysbox-front",
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // The CLI (built as sysbox-manager): one file per verb, thin.
        .executableTarget(
            name: "sysbox",
            dependencies: [
                "CSysbox",
                "SysboxCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ]
        ),
        .testTarget(name: "SysboxStoreTests", dependencies: ["SysboxStore"]),
        .testTarget(name: "SysboxNetlinkTests", dependencies: ["SysboxNetlink", "CSysbox"]),
        .testTarget(name: "SysboxCoreTests", dependencies: ["SysboxCore"]),
        // Drives the built `sysbox` binary; needs the executable built first (`swift build`).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")]
        )
    ],
    swiftLanguageModes: [.v6]
)
