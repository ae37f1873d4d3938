// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "sysbox",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sysbox", targets: ["sysbox"]),
        // For Benchmarks/Micro (a package of its own that depends on this one by path).
        .library(name: "SysboxNetlink", targets: ["SysboxNetlink"]),
        .library(name: "SysboxStore", targets: ["SysboxStore"]),
        .library(name: "SysboxCore", targets: ["SysboxCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The only C: the window between clone/fork and execve, GNU-only prototypes, kernel constants.
        .target(name: "CSysbox"),
        // rtnetlink client: links, bridges, veth pairs, addresses, routes. Depends only on CSysbox (kernel headers).
        .target(name: "SysboxNetlink", dependencies: ["CSysbox"]),
        // GRDB schema (numbered migrations) and records. Depends on nothing of ours.
        .target(
            name: "SysboxStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
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
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The CLI: one file per verb, thin.
        .executableTarget(
            name: "sysbox",
            dependencies: [
                "CSysbox",
                "SysboxCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SysboxStoreTests", dependencies: ["SysboxStore"]),
        .testTarget(name: "SysboxNetlinkTests", dependencies: ["SysboxNetlink", "CSysbox"]),
        .testTarget(name: "SysboxCoreTests", dependencies: ["SysboxCore"]),
        // Drives the built `sysbox` binary; needs the executable built first (`swift build`).
        .testTarget(
            name: "IntegrationTests",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
