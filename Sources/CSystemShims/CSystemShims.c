#define _GNU_SOURCE
#include "CSystemShims.h"

#include <fcntl.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int shims_start_writeback(int fd, off_t offset, off_t length) {
#if defined(__linux__)
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    (void)offset;
    (void)length;
    return 0;
#endif
}

int shims_limit_malloc_arenas(int count) {
#if defined(__GLIBC__)
    return mallopt(M_ARENA_MAX, count);
#else
    (void)count;
    return 0;
#endif
}

int shims_release_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

int shims_set_malloc_thresholds(int mmap_bytes, int trim_bytes) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, mmap_bytes) && mallopt(M_TRIM_THRESHOLD, trim_bytes);
#else
    (void)mmap_bytes;
    (void)trim_bytes;
    return 0;
#endif
}
