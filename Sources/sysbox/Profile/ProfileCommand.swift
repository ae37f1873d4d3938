import ArgumentParser
import SysboxCore

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Manage profiles: reusable config and devices applied to containers in order.",
        discussion: """
            A profile file (YAML) has only description, config and devices:

              description: Small container
              config:
                limits.memory: 512MiB
              devices:
                root:
                  type: disk
                  path: /

            Examples:
              sysbox profile list
              sysbox profile show small > web.yaml
              sysbox profile create web --file web.yaml
              sysbox profile set web limits.cpu=2
              sysbox profile add web1 web
            """,
        subcommands: [
            ProfileList.self, ProfileShow.self, ProfileCreate.self, ProfileEdit.self, ProfileDelete.self,
            ProfileCopy.self, ProfileRename.self, ProfileGet.self, ProfileSet.self, ProfileUnset.self,
            ProfileAdd.self, ProfileRemove.self, ProfileAssign.self, DeviceCommand<ProfileOwner>.self,
        ]
    )
}
