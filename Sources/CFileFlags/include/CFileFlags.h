#ifndef WARDEN_CFILEFLAGS_H
#define WARDEN_CFILEFLAGS_H

/// Clears the immutable attribute of the open file `descriptor` (FS_IOC_GETFLAGS, then
/// FS_IOC_SETFLAGS). efivarfs makes every EFI variable that is not one of a few well-known
/// ones immutable, so a variable must be cleared before it is written again. Returns 0, or
/// -1 with errno set.
///
/// Swift cannot call ioctl(2): it is variadic.
int warden_clear_immutable(int descriptor);

#endif
