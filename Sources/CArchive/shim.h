#ifndef MODELCTL_CARCHIVE_SHIM_H
#define MODELCTL_CARCHIVE_SHIM_H

#include <archive.h>
#include <archive_entry.h>

// libarchive defines the file-type constants as macros with casts, which Swift does not import.
static inline unsigned int carchive_filetype_regular(void) { return (unsigned int)AE_IFREG; }
static inline unsigned int carchive_filetype_directory(void) { return (unsigned int)AE_IFDIR; }
static inline unsigned int carchive_filetype_symlink(void) { return (unsigned int)AE_IFLNK; }

#endif
