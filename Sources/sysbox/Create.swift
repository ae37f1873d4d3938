import ArgumentParser
import SysboxCore

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a container record from an image, without starting it.",
        discussion: """
            The container gets the default profile unless -p or --no-profiles is given; profiles apply in the order given, later ones win, and -c keys win over all profiles. The image is built from its template the first time it is used.

            Examples:
              sysbox create busybox web1
              sysbox create busybox db1 -p default -p small -c limits.memory=1GiB
              sysbox create busybox bare --no-profiles -d root,path=/
              sysbox create busybox web2 -d eth0,hwaddr=00:16:3e:00:00:02 -d data,path=/srv,source=/srv/web2
            """,
        aliases: ["init"]
    )

    @OptionGroup var options: CreateOptions

    func run() throws {
        _ = try options.create(try CLI.manager())
    }
}
