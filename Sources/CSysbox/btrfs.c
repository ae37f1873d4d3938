/* btrfs subvolume ioctls (linux/btrfs.h): what `btrfs subvolume snapshot/delete` do, without starting
 * the tool. Both return 0 or -errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/btrfs.h>
#include "CSysbox.h"

int sysbox_btrfs_snapshot(const char *source, const char *dest_dir, const char *name) {
    if (strlen(name) >= BTRFS_SUBVOL_NAME_MAX || strchr(name, '/')) return -EINVAL;
    int src = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0) return -errno;
    int dst = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst < 0) { int e = errno; close(src); return -e; }
    struct btrfs_ioctl_vol_args_v2 args;
    memset(&args, 0, sizeof args);
    args.fd = src;
    memcpy(args.name, name, strlen(name) + 1);
    int rc = ioctl(dst, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0 ? -errno : 0;
    close(src);
    close(dst);
    return rc;
}

int sysbox_btrfs_destroy(const char *parent_dir, const char *name) {
    if (strlen(name) > BTRFS_PATH_NAME_MAX || strchr(name, '/')) return -EINVAL;
    int dir = open(parent_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -errno;
    struct btrfs_ioctl_vol_args args;
    memset(&args, 0, sizeof args);
    memcpy(args.name, name, strlen(name) + 1);
    int rc = ioctl(dir, BTRFS_IOC_SNAP_DESTROY, &args) < 0 ? -errno : 0;
    close(dir);
    return rc;
}
