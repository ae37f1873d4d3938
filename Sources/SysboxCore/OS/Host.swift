/// The OS layer: thin wrappers over the syscalls and host tools the manager uses, one file per concern
/// (Processes, Errors, Files, Procfs, Locks), with no knowledge of containers or the database.
enum Host {}
