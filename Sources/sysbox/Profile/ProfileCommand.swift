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
            ListCommand<ProfileOwner>.self, ShowCommand<ProfileOwner>.self, ProfileCreate.self, ProfileEdit.self,
            DeleteCommand<ProfileOwner>.self, ProfileCopy.self, ProfileRename.self, GetCommand<ProfileOwner>.self,
            SetCommand<ProfileOwner>.self, UnsetCommand<ProfileOwner>.self, ChangeProfiles<AddProfile>.self,
            ChangeProfiles<RemoveProfile>.self, ProfileAssign.self, DeviceCommand<ProfileOwner>.self
        ]
    )
}
