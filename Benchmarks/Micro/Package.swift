// swift-tools-version: 6.1
// Micro-benchmarks of sysbox's hot paths with ordo-one/benchmark (package-benchmark). A package of its
// own, so that the main package and its CI never build the benchmark dependency. Run: Benchmarks/micro.sh
import PackageDescription

let package = Package(
    name: "SysboxMicroBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "sysbox", path: "../.."),
        // Only the malloc interposer trait: no jemalloc on this machine, and the default traits would
        // also pull the Swift runtime interposer.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0")
    ],
    targets: [
        // The benchmark plugin looks for executable targets in Benchmarks/<name>/.
        .executableTarget(
            name: "SysboxMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SysboxNetlink", package: "sysbox"),
                .product(name: "SysboxStore", package: "sysbox"),
                .product(name: "SysboxCore", package: "sysbox"),
                .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Benchmarks/SysboxMicro",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
