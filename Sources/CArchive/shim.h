#ifndef WARDEN_CARCHIVE_SHIM_H
#define WARDEN_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/// File-type constants are octal macros with casts, which Swift does not import.
static const unsigned int WARDEN_AE_IFREG = AE_IFREG;
static const unsigned int WARDEN_AE_IFDIR = AE_IFDIR;
static const unsigned int WARDEN_AE_IFLNK = AE_IFLNK;
#endif
