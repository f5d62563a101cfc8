#include "CFileFlags.h"

#include <linux/fs.h>
#include <sys/ioctl.h>

int warden_clear_immutable(int descriptor) {
    // The kernel reads and writes an int here, whatever the request's declared size says.
    int flags = 0;
    if (ioctl(descriptor, FS_IOC_GETFLAGS, &flags) != 0) return -1;
    flags &= ~FS_IMMUTABLE_FL;
    return ioctl(descriptor, FS_IOC_SETFLAGS, &flags);
}
