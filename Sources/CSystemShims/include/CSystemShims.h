#ifndef MODELCTL_CSYSTEMSHIMS_H
#define MODELCTL_CSYSTEMSHIMS_H

#include <sys/types.h>

// Small wrappers around Linux/glibc calls that Swift's Glibc module does not import (they are declared only
// under _GNU_SOURCE or in <malloc.h>). On other systems they do nothing.

/// Asks the kernel to start writing the given byte range of `fd` to disk without waiting for it
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a later `fsync` has little left to flush.
/// Returns 0 on success and -1 with `errno` set otherwise.
int shims_start_writeback(int fd, off_t offset, off_t length);

/// Limits the number of malloc arenas (glibc `M_ARENA_MAX`), so memory freed by one thread is reused by others
/// instead of being kept per thread. Returns 1 on success.
int shims_limit_malloc_arenas(int count);

/// Returns free heap memory to the system (glibc `malloc_trim(0)`). Returns 1 if memory was released.
int shims_release_free_memory(void);

/// Sets the size from which malloc maps memory of its own instead of using the heap (glibc `M_MMAP_THRESHOLD`) and
/// how much free memory may stay at the top of the heap before free() gives it back (`M_TRIM_THRESHOLD`). Setting
/// them switches off glibc's own adjustment of both. Returns 1 on success.
int shims_set_malloc_thresholds(int mmap_bytes, int trim_bytes);

#endif
